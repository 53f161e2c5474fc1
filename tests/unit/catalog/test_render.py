"""Rendering rules: native types, trailing newlines kept, strict undefined, secrets tainted."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.catalog.render import Renderer
from agent.errors import ManifestError
from agent.location import Location
from agent.secrets.secret import Secret

WHERE = Location("manifests/x.yaml", 7)


@pytest.fixture
def renderer(tmp_path: Path) -> Renderer:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/t.j2").write_text("a={{ a }}\n{% if flag %}\nyes\n{% endif %}\n")
    (tmp_path / "templates/bad.j2").write_text("line1\n{{ nope }}\n")
    return Renderer(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{ items }}", [1, 2]),
        ("{{ n }}", 3),
        ("{{ a }}\n", "x\n"),
        ("{{ a }}-{{ n }}", "x-3"),
        ("plain {text}", "plain {text}"),
        (" {{ n }}", " 3"),
    ],
)
def test_values(renderer: Renderer, text: str, expected: object) -> None:
    rendered = renderer.value(text, {"items": [1, 2], "n": 3, "a": "x"}, WHERE)
    assert rendered.value == expected and not rendered.sensitive


def test_template_file_trims_blocks_and_keeps_the_last_newline(renderer: Renderer) -> None:
    assert renderer.template("t.j2", {"a": 1, "flag": True}, WHERE).value == "a=1\nyes\n"


def test_undefined_names_the_manifest_line(renderer: Renderer) -> None:
    with pytest.raises(ManifestError) as raised:
        renderer.value("x {{ nope }}", {}, WHERE)
    assert str(raised.value).startswith("manifests/x.yaml:7: ") and "nope" in str(raised.value)


def test_undefined_in_a_template_names_the_template_line(renderer: Renderer) -> None:
    with pytest.raises(ManifestError) as raised:
        renderer.template("bad.j2", {}, WHERE)
    assert str(raised.value).startswith("templates/bad.j2:2: ")


def test_templates_may_not_escape_the_repository(renderer: Renderer) -> None:
    with pytest.raises(ManifestError, match="inside the repository"):
        renderer.template("../etc/passwd", {}, WHERE)


def test_a_secret_taints_and_renders_its_plaintext(renderer: Renderer) -> None:
    secret = Secret("s3cret", key="k", file="f")
    rendered = renderer.value("pw={{ pw }}\n", {"pw": secret}, WHERE)
    # A string built from a secret is a Secret itself, so its taint follows it (loop items, later templates).
    assert isinstance(rendered.value, Secret) and rendered.sensitive
    assert rendered.value.reveal() == "pw=s3cret\n" and repr(rendered.value) == "<secret: f:k>"
    native = renderer.value("{{ pw }}", {"pw": secret}, WHERE)
    assert native.value is secret and native.sensitive
    assert "s3cret" not in f"{secret} {secret!r} {secret:>10}"

"""Real Puppet data beyond the conformance cases: module layer edges, convert_to Sensitive, json errors, Hiera 3/4."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.data.config import load_hiera_config
from agent.data.explain import render_text, to_json, to_plain
from agent.data.hiera import Hiera
from agent.data.sensitive import SensitiveValue
from agent.errors import ConfigError, DataError, InterpolationError

FACTS = {"hostname": "web1", "role": "web", "environment": "prod"}


def site(root: Path, files: dict[str, str], hiera: str = "version: 5\n") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "hiera.yaml").write_text(hiera)
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    return root


MODULE = {"modules/ntp/hiera.yaml": "version: 5\n", "modules/ntp/data/common.yaml": "ntp::servers: [a]\nstray: 1\n"}


def test_explain_shows_the_module_layer(tmp_path: Path) -> None:
    context = Hiera(site(tmp_path, MODULE)).context(FACTS)
    context.lookup("ntp::servers", trace=True)
    text = render_text(context.last_trace)
    assert 'Module "ntp" Data Provider (modules/ntp/hiera.yaml)' in text
    assert 'Path "modules/ntp/data/common.yaml"' in text
    assert [level.get("module") for level in to_json(context.last_trace)["levels"]] == [None, "ntp"]


def test_a_module_key_outside_its_namespace_warns(tmp_path: Path) -> None:
    context = Hiera(site(tmp_path, MODULE)).context(FACTS)
    assert context.lookup("ntp::servers").value == ["a"]
    assert context.warnings == [
        "modules/ntp/data/common.yaml: key 'stray' is not in module ntp's namespace (ntp::...) and is ignored"
    ]


def test_a_module_outside_the_repository_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    site(outside, MODULE)
    repo = site(tmp_path / "repo", {})
    (repo / "modules").mkdir()
    (repo / "modules/ntp").symlink_to(outside / "modules/ntp")
    with pytest.raises(DataError) as raised:
        Hiera(repo).context(FACTS).lookup("ntp::servers")
    assert "module 'ntp' resolves outside the repository" in str(raised.value)
    assert str(raised.value).startswith("modules/ntp: ")


def test_metadata_data_provider_hiera_uses_the_default_hierarchy(tmp_path: Path) -> None:
    files = {"modules/ntp/metadata.json": json.dumps({"data_provider": "hiera"}), **MODULE}
    del files["modules/ntp/hiera.yaml"]
    assert Hiera(site(tmp_path, files)).context(FACTS).lookup("ntp::servers").value == ["a"]


def test_a_hiera_3_module_config_is_ignored_with_a_warning(tmp_path: Path) -> None:
    files = {**MODULE, "modules/ntp/hiera.yaml": ":backends: [yaml]\n"}
    context = Hiera(site(tmp_path, files)).context(FACTS)
    assert context.lookup_value("ntp::servers", None) is None
    assert any("version 3 found at module root was ignored" in w for w in context.warnings)


SENSITIVE = {
    "data/common.yaml": (
        "lookup_options:\n  db::password: {convert_to: Sensitive}\n  '^vault::': {convert_to: [Sensitive]}\n"
        "db::password: hunter2-plain\nvault::token: {a: t0ken}\nmsg: 'pw %{lookup(\"db::password\")}'\n"
        "copy: '%{alias(\"db::password\")}'\n"
    )
}


def test_convert_to_sensitive_makes_the_value_opaque(tmp_path: Path) -> None:
    context = Hiera(site(tmp_path, SENSITIVE)).context(FACTS)
    found = context.lookup("db::password", trace=True)
    assert isinstance(found.value, SensitiveValue) and found.value.value == "hunter2-plain"
    assert to_plain(found.value) == "<sensitive: data/common.yaml:db::password>"
    assert "hunter2" not in render_text(context.last_trace) + json.dumps(to_json(context.last_trace))
    assert context.lookup("vault::token.a").value.value == "t0ken"
    assert isinstance(context.lookup("copy").value, SensitiveValue)
    with pytest.raises(InterpolationError, match="is marked Sensitive"):
        context.lookup("msg")


def test_convert_to_another_type_is_refused_with_its_line(tmp_path: Path) -> None:
    files = {"data/common.yaml": "lookup_options:\n  x: {convert_to: Array}\nx: 1\n"}
    with pytest.raises(DataError) as raised:
        Hiera(site(tmp_path, files)).context(FACTS).lookup("x")
    assert str(raised.value).startswith("data/common.yaml:1: lookup_options for 'x': convert_to 'Array'")


def test_a_json_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    hiera = "version: 5\ndefaults: {datadir: data, data_hash: json_data}\nhierarchy: [{name: c, path: c.json}]\n"
    root = site(tmp_path, {"data/c.json": '{"a": 1,\n "b": }\n'}, hiera)
    with pytest.raises(DataError) as raised:
        Hiera(root).context(FACTS).lookup("a")
    assert str(raised.value).startswith("data/c.json:2: Unable to parse JSON")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (":backends: [yaml]\n:hierarchy: [common]\n", "version 3 (tend reads version 5) (a file without a version"),
        ("version: 4\ndatadir: data\nhierarchy: []\n", "hiera.yaml version 4 (tend reads version 5)"),
    ],
)
def test_hiera_3_and_4_are_named_with_the_conversion(tmp_path: Path, text: str, needle: str) -> None:
    (tmp_path / "hiera.yaml").write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_hiera_config(tmp_path)
    assert needle in str(raised.value)
    assert "Convert a version 3 hiera.yaml to version 5" in str(raised.value)
    assert str(raised.value).startswith("hiera.yaml:")

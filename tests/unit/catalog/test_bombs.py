"""Template memory bombs: each is one clear line naming file:line and the resource, within seconds and with
bounded memory, never a hang, a MemoryError or a traceback."""

from __future__ import annotations

import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest

from agent.catalog.compile import Compiler
from agent.catalog.render import Renderer
from agent.catalog.sandbox import MAX_RENDERED
from agent.errors import ManifestError
from agent.location import Location

HIERA = "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n  - name: c\n    path: c.yaml\n"
BOMBS = {
    "repeat": '{{ "x" * 10**9 }}',
    "repeat-list": "{{ [1] * 10**9 }}",
    "power": "{{ 2 ** 100000000 }}",
    "range": "{% for i in range(10**8) %}x{% endfor %}",
    "nested-loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
    "nested-lists": "{% set l = range(100000)|list %}{% for i in l %}{% for j in l %}{% endfor %}{% endfor %}",
    "doubling-concat": '{% set ns = namespace(s="x") %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}'
    "{% endfor %}{{ ns.s }}",
    "doubling-plus": '{% set ns = namespace(s="x") %}{% for i in range(64) %}{% set ns.s = ns.s + ns.s %}'
    "{% endfor %}{{ ns.s }}",
    "doubling-replace": '{% set ns = namespace(s="xx") %}{% for i in range(64) %}'
    '{% set ns.s = ns.s | replace("x", "xx") %}{% endfor %}{{ ns.s }}',
    "doubling-join": '{% set ns = namespace(s="x") %}{% for i in range(64) %}{% set ns.s = [ns.s, ns.s] | join %}'
    "{% endfor %}{{ ns.s }}",
    "center": '{{ "x" | center(1000000000) }}',
    "method-center": '{{ "x".center(1000000000) }}',
    "percent-width": '{{ "%1000000000d" % 1 }}',
    "format-width": '{{ "{:>1000000000}".format(1) }}',
    "format-filter": '{{ "%1000000000s" | format("x") }}',
    "indent": '{% set big = "\\n" * 1000000 %}{{ big | indent("x" * 1000) }}',
    "lipsum": "{{ lipsum(1000000) }}",
    "output": '{% for i in range(100000) %}{{ "y" * 1000 }}{% endfor %}',
}


@pytest.mark.parametrize("template", BOMBS.values(), ids=BOMBS.keys())
def test_a_bomb_is_a_clear_error_in_bounded_time_and_memory(tmp_path: Path, template: str) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/bomb.j2").write_text("line one\n" + template + "\n")
    renderer = Renderer(tmp_path)
    tracemalloc.start()
    started = time.monotonic()
    try:
        for render in (
            lambda: renderer.value("pre " + template, {}, Location("manifests/site.yaml", 4)),
            lambda: renderer.template("bomb.j2", {}, Location("manifests/site.yaml", 4)),
        ):
            with pytest.raises(ManifestError) as raised:
                render()
            message = str(raised.value)
            assert "\n" not in message.strip()
            assert message.startswith(("manifests/site.yaml:4: ", "templates/bomb.j2:2: ")), message
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 20
    assert peak < 8 * MAX_RENDERED, f"peak {peak:,} bytes"


def test_the_error_names_the_resource(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "manifests").mkdir()
    (tmp_path / "hiera.yaml").write_text(HIERA)
    (tmp_path / "data/c.yaml").write_text("classes: [site]\n")
    (tmp_path / "manifests/site.yaml").write_text(
        textwrap.dedent("""\
        resources:
          - file: /etc/bomb
            content: '{{ "x" * 10**9 }}'
        """)
    )
    with pytest.raises(ManifestError) as raised:
        Compiler(tmp_path).compile({"hostname": "h"})
    message = str(raised.value)
    assert message.startswith("manifests/site.yaml:3: file:/etc/bomb: ") and "limit" in message, message


def test_ordinary_templates_still_render(tmp_path: Path) -> None:
    renderer = Renderer(tmp_path)
    text = (
        '{% for i in range(3) %}{{ "ab" * 2 }}{{ i ~ "-" }}{% endfor %}{{ 2 ** 10 }} {{ "%05d" % 42 }} '
        '{{ "x" | center(5) }}{{ ["a", "b"] | join(",") }}{{ "a\\nb" | indent(2) }}{{ "{:>3}".format(1) }}'
    )
    assert renderer.value(text, {}, Location("m", 1)).value == "abab0-abab1-abab2-1024 00042   x  a,ba\n  b  1"

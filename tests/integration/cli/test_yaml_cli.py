"""How tend reads YAML, through the command line: duplicate keys, hostile input and unknown keys, with file:line."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

HIERA = "version: 5\ndefaults:\n  datadir: data\nhierarchy:\n  - name: Common\n    path: common.yaml\n"
SITE = {
    "hiera.yaml": HIERA,
    "data/common.yaml": "classes: [site]\ngreeting: hello\n",
    "manifests/site.yaml": "resources:\n  - file: /tmp/tend-yaml-test\n    content: hi\n",
    "keys/inventory.yaml": "hosts:\n  web1: {role: web}\nadmins: []\n",
}
BOMB = "lol0: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"lol{i}: &{chr(97 + i)} [{', '.join([f'*{chr(96 + i)}'] * 9)}]\n" for i in range(1, 9)
)
RECURSION = "loop: &r\n  - *r\n"
BIG_INT = "big: " + "7" * 5000 + "\n"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    for name, text in SITE.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


Run = Callable[..., subprocess.CompletedProcess[str]]


def run_on(tend: Run, site: Path, kind: str) -> subprocess.CompletedProcess[str]:
    """The command that reads a file of `kind` in `site`."""
    if kind == "agent":
        return tend(["facts", "--json", "--config", str(site / "agent.yaml")])
    if kind == "facts":
        return tend(["facts", "--json"], env={"TEND_FACTS_FILE": str(site / "facts.yaml")})
    if kind == "data":
        return tend(["lookup", "greeting", "--repo", str(site)])
    return tend(["check", "--repo", str(site)])


FILES = {
    "hiera": "hiera.yaml",
    "data": "data/common.yaml",
    "manifest": "manifests/site.yaml",
    "inventory": "keys/inventory.yaml",
    "agent": "agent.yaml",
    "facts": "facts.yaml",
}


def write(site: Path, kind: str, text: str) -> str:
    """Write `text` as the file of `kind` (after what the site has there); return the name errors use."""
    path = site / FILES[kind]
    path.write_text(SITE.get(FILES[kind], "") + text)
    return str(path) if kind in ("agent", "facts") else FILES[kind]


def one_error(result: subprocess.CompletedProcess[str], expected: str) -> None:
    """Exit 1 and `expected` (file:line: message) as one line of output, without a traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output and "Error:" not in output, output
    assert any(line.endswith(expected) for line in output.splitlines()), output


def test_hierarchy_written_twice_in_hiera_yaml_is_an_error_naming_both_lines(tend: Run, site: Path) -> None:
    (site / "hiera.yaml").write_text(HIERA + "hierarchy:\n  - name: Other\n    path: other.yaml\n")
    result = tend(["lookup", "greeting", "--repo", str(site)])
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "tend: hiera.yaml:7: duplicate key 'hierarchy' (first defined on line 4)\n"


def test_a_recursive_alias_in_local_facts_is_a_one_line_error(tend: Run, site: Path) -> None:
    facts = site / "facts.yaml"
    facts.write_text("role: web\nloop: &a\n  - *a\n")
    result = tend(["facts", "--json"], env={"TEND_FACTS_FILE": str(facts)})
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"tend: {facts}:3: an alias refers to its own anchor (a structure that contains itself)\n"


def test_a_key_written_twice_in_a_data_file_warns_naming_both_lines_and_the_last_value_wins(
    tend: Run, site: Path
) -> None:
    write(site, "data", "greeting: bye\n")
    result = tend(["lookup", "greeting", "--repo", str(site)])
    assert (result.returncode, result.stdout) == (0, "bye\n")
    assert result.stderr == (
        "tend: warning: data/common.yaml:3: duplicate key 'greeting' (first defined on line 2); "
        "the last value is used\n"
    )


def test_check_warns_of_a_key_written_twice_in_data_and_strict_fails(tend: Run, site: Path) -> None:
    write(site, "data", "greeting: bye\n")
    result = tend(["check", "--repo", str(site)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr.count("data/common.yaml:3: duplicate key 'greeting' (first defined on line 2)") == 1
    strict = tend(["check", "--strict", "--repo", str(site)])
    assert strict.returncode == 1
    assert "FAIL web1: data/common.yaml:3: duplicate key 'greeting' (first defined on line 2)\n" in strict.stdout


@pytest.mark.parametrize(
    ("kind", "text", "line", "key", "first"),
    [
        ("agent", "interval: 30m\nsplay: 1m\ninterval: 5m\n", 3, "interval", 1),
        ("facts", "role: web\nrole: db\n", 2, "role", 1),
        ("inventory", "admins: [bob]\n", 4, "admins", 3),
        ("manifest", "    content: again\n", 4, "content", 3),
        ("hiera", "defaults: {datadir: other}\n", 7, "defaults", 2),
    ],
)
def test_a_key_written_twice_in_a_configuration_file_is_an_error_naming_both_lines(
    tend: Run, site: Path, kind: str, text: str, line: int, key: str, first: int
) -> None:
    name = write(site, kind, text)
    one_error(run_on(tend, site, kind), f"{name}:{line}: duplicate key '{key}' (first defined on line {first})")


ALIAS_BOMB = ("aliases expand to more than 100,000 values (an alias bomb?)", BOMB, 6)
HOSTILE = {
    "alias bomb": ALIAS_BOMB,
    "recursive alias": ("an alias refers to its own anchor (a structure that contains itself)", RECURSION, 2),
    "5000 digits": ("an integer of 5000 digits is too long (at most 100)", BIG_INT, 1),
}


@pytest.mark.parametrize(
    ("kind", "hostile"),
    [(kind, "alias bomb") for kind in FILES]
    + [(kind, hostile) for kind in ("data", "facts", "manifest") for hostile in ("recursive alias", "5000 digits")],
)
def test_hostile_yaml_is_a_one_line_error_with_file_and_line(tend: Run, site: Path, kind: str, hostile: str) -> None:
    message, text, line = HOSTILE[hostile]
    before = len(SITE.get(FILES[kind], "").splitlines())
    name = write(site, kind, text)
    one_error(run_on(tend, site, kind), f"{name}:{before + line}: {message}")


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("hiera", "hierachy: []\n", "hiera.yaml:7: unknown key 'hierachy' (did you mean 'hierarchy'?)"),
        ("agent", "interval: 30m\nsplya: 5m\n", "agent.yaml:2: unknown key 'splya' (did you mean 'splay'?)"),
        (
            "agent",
            "source:\n  git: /srv/site.git\n  brnach: main\n",
            "agent.yaml:3: source: unknown key 'brnach' (did you mean 'branch'?)",
        ),
        ("inventory", "admns: [bob]\n", "keys/inventory.yaml:4: unknown key 'admns' (did you mean 'admins'?)"),
        ("manifest", "chekcs: []\n", "manifests/site.yaml:4: unknown section 'chekcs' (did you mean 'checks'?)"),
    ],
)
def test_an_unknown_key_names_its_line_and_the_key_meant(
    tend: Run, site: Path, kind: str, text: str, expected: str
) -> None:
    write(site, kind, text)
    one_error(run_on(tend, site, kind), expected)

"""The facts of the real machine, and local facts read from files."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

import agent
from agent.errors import FactsError
from agent.facts import load_local_facts, system_facts

FIXTURES = Path(__file__).parents[2] / "unit" / "facts" / "fixtures" / "os-release"


@pytest.fixture(scope="module")
def facts() -> dict:
    return system_facts()


def test_every_fact_is_present(facts):
    assert set(facts) == {
        "hostname",
        "fqdn",
        "domain",
        "os",
        "kernel",
        "kernelrelease",
        "architecture",
        "processors",
        "memory",
        "networking",
        "python",
        "tend",
        "virtual",
        "is_virtual",
        "container",
        "mountpoints",
        "disks",
        "timezone",
        "systemd",
    }
    assert set(facts["os"]) == {"family", "name", "release", "codename"}
    assert set(facts["os"]["release"]) == {"full", "major", "minor"}
    assert facts["virtual"] and isinstance(facts["container"], bool) and isinstance(facts["systemd"], bool)
    assert all(m["size_bytes"] >= 0 for m in facts["mountpoints"].values())
    assert set(facts["networking"]) == {"interfaces", "ip"}


def test_identity(facts):
    assert facts["hostname"] and "." not in facts["hostname"]
    assert facts["fqdn"].split(".")[0] == facts["hostname"]
    if facts["domain"] is None:
        assert facts["fqdn"] == facts["hostname"]
    else:
        assert facts["fqdn"] == f"{facts['hostname']}.{facts['domain']}"


def test_os_and_kernel(facts):
    assert isinstance(facts["os"]["family"], str)
    assert isinstance(facts["os"]["name"], str)
    assert facts["os"]["codename"] is None or isinstance(facts["os"]["codename"], str)
    assert facts["kernel"] == "Linux"
    assert isinstance(facts["kernelrelease"], str) and facts["kernelrelease"]
    assert isinstance(facts["architecture"], str) and facts["architecture"] not in ("x86_64", "aarch64")


def test_hardware(facts):
    assert isinstance(facts["processors"]["count"], int) and facts["processors"]["count"] >= 1
    assert isinstance(facts["memory"]["total_mb"], int) and facts["memory"]["total_mb"] > 0


def test_networking(facts):
    interfaces = facts["networking"]["interfaces"]
    assert interfaces and list(interfaces) == sorted(interfaces)
    for addresses in interfaces.values():
        assert set(addresses) == {"ip", "ip6", "mac"}
        assert all(value is None or isinstance(value, str) for value in addresses.values())
    ip = facts["networking"]["ip"]
    assert ip is None or (ip in {a["ip"] for a in interfaces.values()} and not ip.startswith("127."))


def test_versions(facts):
    assert facts["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert facts["tend"]["version"] == agent.__version__


def test_os_release_is_read_from_the_given_path(tmp_path):
    facts = system_facts(
        os_release=FIXTURES / "rocky-9",
        debian_version=tmp_path / "missing",
        resolv_conf=tmp_path / "missing",
    )
    assert facts["os"] == {
        "family": "RedHat",
        "name": "Rocky",
        "release": {"full": "9.3", "major": "9", "minor": "3"},
        "codename": None,
    }


def test_a_missing_os_release_gives_unknown_os_facts(tmp_path):
    facts = system_facts(os_release=tmp_path / "missing")
    assert facts["os"]["family"] is None and facts["os"]["release"] == {"full": None, "major": None, "minor": None}


def test_an_unreadable_os_release_names_the_file(tmp_path):
    with pytest.raises(FactsError, match=f"^{re.escape(str(tmp_path))}: cannot read: "):
        system_facts(os_release=tmp_path)


def test_importing_the_facts_does_not_import_psutil():
    code = "import sys, agent.facts; sys.exit('psutil' in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(agent.__file__).parents[1], timeout=60)


# Local facts, from files under tmp_path.


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_files_give_no_facts(tmp_path):
    assert load_local_facts(tmp_path / "facts.yaml", tmp_path / "facts.d") == {}


def test_later_files_override_earlier_ones_deeply(tmp_path):
    write(tmp_path / "facts.yaml", "role: web\nenvironment: prod\nsite: {dc: a, rack: 1}\n")
    write(tmp_path / "facts.d" / "20-rack.yaml", "site: {rack: 7}\n")
    write(tmp_path / "facts.d" / "10-env.yaml", "environment: staging\nsite: {rack: 3, row: 2}\n")
    write(tmp_path / "facts.d" / "30-ignored.yml", "role: ignored\n")
    write(tmp_path / "facts.d" / "40-empty.yaml", "")
    assert load_local_facts(tmp_path / "facts.yaml", tmp_path / "facts.d") == {
        "role": "web",
        "environment": "staging",
        "site": {"dc": "a", "rack": 7, "row": 2},
    }


def test_the_directory_alone(tmp_path):
    write(tmp_path / "facts.d" / "role.yaml", "role: db\n")
    assert load_local_facts(tmp_path / "facts.yaml", tmp_path / "facts.d") == {"role": "db"}


def test_malformed_yaml_names_the_file_and_line(tmp_path):
    write(tmp_path / "facts.yaml", "role: web\n")
    bad = write(tmp_path / "facts.d" / "10-bad.yaml", "# role\nrole: web\n  environment: prod\n")
    with pytest.raises(FactsError) as caught:
        load_local_facts(tmp_path / "facts.yaml", tmp_path / "facts.d")
    assert str(caught.value).startswith(f"{bad}:3: Unable to parse YAML: ")


def test_a_list_at_the_top_names_the_file(tmp_path):
    bad = write(tmp_path / "facts.yaml", "- role: web\n")
    with pytest.raises(FactsError) as caught:
        load_local_facts(bad, tmp_path / "facts.d")
    assert str(caught.value) == f"{bad}:1: facts must be a mapping of names to values, not a list"


def test_a_file_that_is_not_utf8_names_the_file(tmp_path):
    bad = tmp_path / "facts.yaml"
    bad.write_bytes(b"role: \xff\n")
    with pytest.raises(FactsError, match=f"^{re.escape(str(bad))}:1: not UTF-8 text: invalid start byte$"):
        load_local_facts(bad, tmp_path / "facts.d")


def _script(folder: Path, name: str, body: str, mode: int = 0o755) -> Path:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(mode)
    return path


@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="facts executables run only when root owns them")
def test_executable_facts_run_once_and_unsafe_ones_warn(tmp_path):
    from agent.facts import external

    facts_d = tmp_path / "facts.d"
    facts_d.mkdir()
    counter = tmp_path / "count"
    _script(facts_d, "10-json", f'echo x >> {counter}; echo \'{{"rack": "r1"}}\'')
    _script(facts_d, "20-kv", "echo role=web")
    _script(facts_d, "40-writable", "echo hacked=yes", mode=0o777)
    (facts_d / "50.yaml").write_text("zone: a\n")
    warnings: list[str] = []
    try:
        facts = load_local_facts(tmp_path / "none.yaml", facts_d, warn=warnings.append)
        assert facts == {"zone": "a", "rack": "r1", "role": "web"}
        assert warnings == [
            f"{facts_d}/40-writable: facts executable not run: it must be owned by root and not writable by "
            "group or others",
        ]
        assert load_local_facts(tmp_path / "none.yaml", facts_d, warn=warnings.append) == facts
        assert counter.read_text() == "x\n"  # gathered once per process
        assert load_local_facts(tmp_path / "none.yaml", facts_d) == {"zone": "a"}  # no warn: not run (--host)
    finally:
        external._gathered.clear()


@pytest.mark.skipif(__import__("os").geteuid() != 0, reason="facts executables run only when root owns them")
def test_a_failing_facts_executable_is_a_host_fault_naming_it(tmp_path):
    """DESIGN §8.2: a facts executable failing is a host fault (exit 1, nothing marked bad), not a warning."""
    from agent.facts import external

    facts_d = tmp_path / "facts.d"
    facts_d.mkdir()
    _script(facts_d, "30-fails", "echo oops >&2; exit 3")
    try:
        with pytest.raises(FactsError, match=f"^{re.escape(str(facts_d))}/30-fails: facts executable failed: "):
            load_local_facts(tmp_path / "none.yaml", facts_d, warn=lambda text: None)
    finally:
        external._gathered.clear()

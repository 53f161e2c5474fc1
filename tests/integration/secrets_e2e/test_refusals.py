"""What tend refuses outright: private keys anywhere in the repository, and hidden recipients."""

from __future__ import annotations

import base64

import pytest

from tests.integration.secrets_e2e.conftest import ADMIN, leaks

PRIVATE_KEY_PLACES = ["hieradata/oops.yaml", "keys/hosts/x.asc", "files/backup/db1.key"]
HIDDEN = "LEAK-41de-hidden-do-not-print"


def commands(site):
    """Each command that must refuse to start, as the one who would run it."""
    state, root = str(site.state("db1")), str(site.root("db1"))
    converge = ["--host", "db1", "--state-dir", state, "--root", root]
    return {
        "apply": lambda: site.tend("apply", *converge),
        "apply --noop": lambda: site.tend("apply", "--noop", *converge),
        "plan": lambda: site.tend("plan", *converge),
        "secrets set": lambda: site.admin("secrets", "set", "hieradata/roles/db.yaml", "db::password", input="new\n"),
        "secrets rekey --check": lambda: site.admin("secrets", "rekey", "--check"),
        "secrets rekey": lambda: site.admin("secrets", "rekey"),
        "secrets audit": lambda: site.admin("secrets", "audit"),
        "check": lambda: site.tend("check"),
    }


def plant_private_key(site, place: str) -> None:
    """db1's exported private key: as a file of its own, or pasted into a YAML data file."""
    key = site.keyring.export_secret("db1")
    if place.endswith(".yaml"):
        indented = "".join(f"  {line}\n" for line in key.splitlines())
        key = f"# pasted by mistake\nbackup::key: |\n{indented}"
    site.write({place: key})


@pytest.mark.parametrize(
    "command",
    [
        "apply",
        "apply --noop",
        "plan",
        "secrets set",
        "secrets rekey --check",
        "secrets rekey",
        "secrets audit",
        "check",
    ],
)
def test_a_private_key_in_the_data_stops_every_command(site, command):
    assert_refused(site, "hieradata/oops.yaml", [command])


@pytest.mark.parametrize("place", PRIVATE_KEY_PLACES[1:])
def test_a_private_key_anywhere_else_stops_apply_and_secrets_set(site, place):
    assert_refused(site, place, ["apply", "secrets set"])


def assert_refused(site, place: str, names: list[str]) -> None:
    plant_private_key(site, place)
    before = (site.repo / "hieradata/roles/db.yaml").read_text()
    for name in names:
        done = commands(site)[name]()
        assert done.returncode == 1, (name, done.stdout + done.stderr)
        assert f"tend: {place}: private-key material in the control repository" in done.stderr, name
    assert (site.repo / "hieradata/roles/db.yaml").read_text() == before
    root = site.root("db1")
    assert list(root.rglob("*")) == [root / "etc"]


def hidden_value(site) -> str:
    message = site.keyring.encrypt(HIDDEN, ["db1", ADMIN], "--throw-keyids")
    return f"ENC[GPG,{base64.b64encode(message).decode()}]"


def with_hidden_recipients(site) -> None:
    site.write({"hieradata/nodes/db1.yaml": f"db::hidden: {hidden_value(site)}\n"})
    site.append("manifests/db.yaml", "  - file: /etc/e2e/hidden\n    content: \"{{ lookup('db::hidden') }}\"\n")


@pytest.mark.parametrize("command", ["secrets rekey --check", "secrets audit"])
def test_hidden_recipients_are_refused_by_the_admin_commands_naming_key_and_file(site, command):
    with_hidden_recipients(site)
    done = commands(site)[command]()
    assert done.returncode == 1
    assert "tend: hieradata/nodes/db1.yaml:1: db::hidden: hidden recipient (gpg --throw-keyids)" in done.stderr
    assert not leaks(done.stdout + done.stderr, {"hidden": HIDDEN})


def test_hidden_recipients_stop_the_run_before_any_change(site):
    with_hidden_recipients(site)
    done = commands(site)["apply"]()
    assert done.returncode == 1
    assert "hidden recipient (gpg --throw-keyids)" in done.stderr
    root = site.root("db1")
    assert list(root.rglob("*")) == [root / "etc"]
    assert not leaks(done.stdout + done.stderr, {"hidden": HIDDEN})


def test_hidden_recipients_in_a_run_name_the_key_and_the_data_file(site):
    with_hidden_recipients(site)
    done = commands(site)["apply"]()
    assert "db::hidden" in done.stderr
    assert "hieradata/nodes/db1.yaml" in done.stderr

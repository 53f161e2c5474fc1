"""Every path a secret travels, then a grep for its plaintext in everything tend left behind.

One scenario (module-scoped) drives db1 and web1 through plan, preview, noop, apply (human and JSON),
failing validate and exec, a secret rotation (so the old file goes to the bucket), lookup, and --debug
runs that fail, each under `strace -f -e trace=execve` when strace is installed. It runs twice: as is,
and with `--debug` on every command (tracebacks, and python-gnupg loaded under a debugging tend). The tests
then look at the outputs, the state directories, the bucket, the roots and the argv of every child process.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.integration.secrets_e2e.conftest import PLAIN, Site, leaks

ROTATED = "LEAK-b0b0-rotated-do-not-print"
EVERY_SECRET = {**PLAIN, "rotated": ROTATED}
TRACED = shutil.which("strace") is not None
CHROOT = os.geteuid() == 0  # an exec under --root runs chrooted into it

EXECS = """\
  - exec: use-secret
    command: [/bin/sh, -c, 'printf %s "$DB_PASSWORD" > /etc/e2e/from-exec']
    creates: /etc/e2e/from-exec
    environment: {DB_PASSWORD: "{{ password }}"}
    require: file:/etc/e2e
  - exec: fail-with-secret
    command: [/bin/sh, -c, 'echo "$DB_PASSWORD"; echo "$DB_PASSWORD" >&2; exit 3']
    environment: {DB_PASSWORD: "{{ password }}"}
"""
VALIDATED = """\
  - file: /etc/e2e/checked.env
    content: "PASSWORD={{ password }}\\n"
    validate: [/bin/sh, -c, 'cat "$1"; cat "$1" >&2; exit 1', sh, '{path}']
"""
# Partial edits writing a secret: a line (with a plain line of the same file), and an ini setting.
EDITS = """\
  - line: pg password
    path: /etc/e2e/pg.conf
    text: "password = '{{ password }}'"
    match: ^password
    create: true
  - line: port = 5432
    path: /etc/e2e/pg.conf
  - ini: app password
    path: /etc/e2e/app.ini
    section: db
    setting: password
    value: "{{ password }}"
    create: true
"""
CRASH = """\
  - exec: timeout-from-a-secret
    command: [/bin/true]
    timeout: "{{ password }}"
"""
# The only files that may hold a plaintext: the managed files in the roots.
LEGITIMATE = {
    "db1": {"etc/e2e/db.env", "etc/e2e/site.token", "etc/e2e/from-exec", "etc/e2e/pg.conf", "etc/e2e/app.ini"},
    "web1": set(),
}


def shell_root(root: Path) -> None:
    """Give the root a /bin/sh (dash and the libraries it links), so an exec can run chrooted into it."""
    libraries = re.findall(r"(/\S+)", subprocess.run(["ldd", "/bin/dash"], capture_output=True, text=True).stdout)
    for path in [*libraries, "/bin/dash"]:
        target = root / ("bin/sh" if path == "/bin/dash" else path.lstrip("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)


@dataclass
class Scenario:
    site: Site
    runs: dict[str, subprocess.CompletedProcess[str]] = field(default_factory=dict)
    logs: list[Path] = field(default_factory=list)
    roots: dict[str, Path] = field(default_factory=dict)
    old_db_env: str = ""
    debug: bool = False
    old_edits: list[str] = field(default_factory=list)

    def run(self, label: str, call, *args: str, **options) -> subprocess.CompletedProcess[str]:
        if self.debug:
            args = ("--debug", *args)
        if TRACED:
            log = self.site.base / f"strace-{len(self.logs)}.log"
            self.logs.append(log)
            options["strace_log"] = log
        done = call(*args, **options)
        self.runs[label] = done
        return done

    @property
    def state_dirs(self) -> list[Path]:
        return sorted((self.site.base / "s").iterdir())


@pytest.fixture(scope="module", params=[pytest.param(False, id="plain"), pytest.param(True, id="debug")])
def scenario(keyring, fleet_repo, request) -> Iterator[Scenario]:
    site = Site(keyring, fleet_repo)
    s = Scenario(site, debug=request.param)
    try:
        drive(s)
        yield s
    finally:
        site.close()


def drive(s: Scenario) -> None:
    site = s.site
    site.append("manifests/db.yaml", (EXECS if CHROOT else "") + VALIDATED + EDITS)
    db1, web1 = site.root("db1"), site.root("web1")
    s.roots = {"db1": db1, "web1": web1}
    if CHROOT:
        shell_root(db1)
    converge = ["--repo", str(site.repo), "--root", str(db1)]
    db1_state = ["--host", "db1", "--state-dir", str(site.state("db1"))]

    s.run("plan as db1", site.tend, "plan", *converge, *db1_state, "--detailed-exitcodes")
    preview = ["--host", "db1", "--state-dir", str(site.state("preview", keyring=None))]
    s.run("plan --host db1 by the admin", site.admin, "plan", *converge, *preview)
    s.run("apply --noop --json", site.tend, "apply", "--noop", "--json", *converge, *db1_state)
    s.run("apply", site.tend, "apply", *converge, *db1_state, "--detailed-exitcodes")
    s.old_db_env = (db1 / "etc/e2e/db.env").read_text()
    s.old_edits = [(db1 / name).read_text() for name in ("etc/e2e/pg.conf", "etc/e2e/app.ini")]
    s.run("apply --json (again)", site.tend, "apply", "--json", *converge, *db1_state)
    for extra in ((), ("--json",), ("--explain",)):
        s.run(f"lookup {extra}", site.tend, "lookup", "db::password", "--host", "db1", *extra)
    s.run(
        "secrets set (rotate)", site.admin, "secrets", "set", "hieradata/roles/db.yaml", "db::password", input=ROTATED
    )
    s.run("secrets rekey --check", site.admin, "secrets", "rekey", "--check")
    s.run("secrets audit", site.admin, "secrets", "audit", "--format", "json")
    s.run("check", site.tend, "check")
    s.run("apply --json (rotated)", site.tend, "apply", "--json", *converge, *db1_state)

    site.append("manifests/web.yaml", "  - file: /etc/e2e/stolen\n    content: \"{{ lookup('shared::db_token') }}\"\n")
    web1_state = ["--host", "web1", "--state-dir", str(site.state("web1")), "--root", str(web1)]
    s.run("--debug apply as web1 (refused)", site.tend, "--debug", "apply", "--repo", str(site.repo), *web1_state)
    web1_home = {"GNUPGHOME": str(site.keyring.home("web1"))}
    show = ["--debug", "secrets", "show", "hieradata/roles/db.yaml", "db::password"]
    s.run("--debug secrets show by web1 (refused)", site.tend, *show, env=web1_home)
    site.append("manifests/db.yaml", CRASH)
    s.run("--debug apply (a secret as a timeout)", site.tend, "--debug", "apply", *converge, *db1_state)


def test_no_output_holds_a_plaintext(scenario):
    for label, done in scenario.runs.items():
        assert not leaks(done.stdout + done.stderr, EVERY_SECRET), label


def test_the_runs_went_where_they_should(scenario):
    runs = scenario.runs
    assert runs["plan as db1"].returncode == 2
    assert "    content changed (sensitive)" in runs["plan as db1"].stdout
    assert runs["plan --host db1 by the admin"].returncode == 0
    assert "    content changed (sensitive)" in runs["plan --host db1 by the admin"].stdout
    assert runs["apply --noop --json"].returncode == 0
    assert runs["apply"].returncode == 6  # changes, and the failing validate (and exec)
    assert "validate refused the new content: output withheld (sensitive)" in runs["apply"].stdout
    if CHROOT:
        assert "exited with status 3 (expected [0]); output withheld (sensitive)" in runs["apply"].stdout
    assert runs["lookup ()"].stdout == "<secret: hieradata/roles/db.yaml:db::password>\n"
    assert runs["lookup ('--json',)"].stdout == '"<secret: hieradata/roles/db.yaml:db::password>"\n'
    assert '"<secret: hieradata/roles/db.yaml:db::password>"' in runs["lookup ('--explain',)"].stdout
    assert runs["secrets set (rotate)"].returncode == 0
    assert runs["secrets rekey --check"].returncode == 0
    assert runs["--debug apply as web1 (refused)"].returncode == 1
    assert "is not encrypted for web1" in runs["--debug apply as web1 (refused)"].stderr
    assert "Traceback" in runs["--debug secrets show by web1 (refused)"].stderr
    assert runs["--debug apply (a secret as a timeout)"].returncode == 1
    assert "(computed from a secret)" in runs["--debug apply (a secret as a timeout)"].stderr
    assert (scenario.roots["db1"] / "etc/e2e/db.env").read_text().startswith(f"PORT=5432\nPASSWORD={ROTATED}\n")


def test_edits_holding_a_secret_are_private_hidden_and_rotated(scenario):
    password = PLAIN["db::password"]
    assert scenario.old_edits == [f"password = '{password}'\nport = 5432\n", f"[db]\npassword = {password}\n"]
    db1 = scenario.roots["db1"]
    assert (db1 / "etc/e2e/pg.conf").read_text() == f"password = '{ROTATED}'\nport = 5432\n"
    assert (db1 / "etc/e2e/app.ini").read_text() == f"[db]\npassword = {ROTATED}\n"
    for name in ("etc/e2e/pg.conf", "etc/e2e/app.ini"):
        assert stat.S_IMODE((db1 / name).stat().st_mode) == 0o600, name  # created holding a secret
    plan = scenario.runs["plan as db1"].stdout
    for rid in ("line:pg password", "line:port = 5432", "ini:app password"):
        assert f"would-change   {rid} (ensure, sensitive)\n    content changed (sensitive)\n" in plan, rid
    stored = {p.read_text(errors="replace") for p in walk_files(scenario.site.state("db1") / "bucket")}
    assert set(scenario.old_edits) <= stored  # the rotation replaced both: the old content is in the bucket


def walk_files(base: Path) -> Iterator[Path]:
    for path in sorted(base.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def test_no_state_file_holds_a_plaintext_or_its_hash(scenario):
    digests = {hashlib.sha256(v.encode()).hexdigest() for v in EVERY_SECRET.values()}
    for root in scenario.roots.values():
        digests |= {hashlib.sha256(p.read_bytes()).hexdigest() for p in walk_files(root / "etc")}
    seen = 0
    for state in scenario.state_dirs:
        for path in walk_files(state):
            if "bucket" in path.relative_to(state).parts:
                continue
            data = path.read_bytes()
            seen += 1
            assert not leaks(data, EVERY_SECRET), path
            text = data.decode(errors="replace")
            assert not [d for d in digests if d in text], f"{path} holds the hash of a secret"
    assert seen >= 8


def test_the_bucket_keeps_the_old_sensitive_file_private(scenario):
    bucket = scenario.site.state("db1") / "bucket"
    stored = list(walk_files(bucket))
    assert stored, "the rotation replaced db.env: its old content belongs in the bucket"
    assert any(p.read_text(errors="replace") == scenario.old_db_env for p in stored)
    for path in stored:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    for path in [bucket, *(p for p in bucket.rglob("*") if p.is_dir())]:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    for path in bucket.rglob("*"):
        assert not leaks(str(path.relative_to(bucket)), EVERY_SECRET)


def test_only_the_managed_files_in_the_roots_hold_a_secret(scenario):
    for host, root in scenario.roots.items():
        holding = {str(p.relative_to(root)) for p in walk_files(root) if leaks(p.read_bytes(), EVERY_SECRET)}
        assert holding == (LEGITIMATE[host] if CHROOT else LEGITIMATE[host] - {"etc/e2e/from-exec"}), host
        if (root / "etc/e2e").exists():
            assert not [p.name for p in (root / "etc/e2e").iterdir() if p.name.startswith(".")], "temp files left"
    assert not (scenario.roots["db1"] / "etc/e2e/checked.env").exists(), "validate failed: nothing may be installed"
    assert not list(scenario.roots["web1"].rglob("*.*")), "web1 could not compile: nothing may be written"
    if CHROOT:
        assert (scenario.roots["db1"] / "etc/e2e/from-exec").read_text() == PLAIN["db::password"]


@pytest.mark.skipif(not TRACED, reason="strace is not installed (Debian: apt-get install strace)")
def test_no_child_process_gets_a_plaintext_in_its_argv(scenario):
    execs = []
    for log in scenario.logs:
        text = log.read_text(errors="replace")
        execs += re.findall(r'execve\("([^"]+)", \[', text)
        assert not leaks(text, EVERY_SECRET), log
    programs = {Path(p).name for p in execs}
    tend = Path(sys.executable).name  # the agent itself runs as `python -m agent`
    assert {"gpg", tend, "sh"} <= programs, programs  # gpg decrypted, validate (and exec) ran: all traced
    assert len(scenario.logs) == len(scenario.runs)


# -- leaks and crashes found on the way: each shows a bug in agent/ -------------------------------------


def converge_db1(site, *extra: str) -> subprocess.CompletedProcess[str]:
    return site.converge("apply", "db1", *extra)


def test_a_type_error_in_an_attribute_rendered_from_a_secret_does_not_print_it(site):
    site.append("manifests/db.yaml", '  - file: /etc/e2e/typo\n    content: x\n    backup: "on-{{ password }}"\n')
    done = converge_db1(site, "--json")
    assert done.returncode == 1
    assert "'backup' must be true or false" in done.stdout
    assert not leaks(done.stdout + done.stderr)


def test_a_template_cannot_reveal_a_secret_untainted(site):
    site.write({"templates/db.conf.j2": "password = {{ password.reveal() }}\n"})
    site.append("manifests/db.yaml", "  - file: /etc/e2e/db.conf\n    template: db.conf.j2\n")
    done = site.converge("plan", "db1")
    # The sandbox stops the template at reveal(): a compile error at the template's line, nothing planned.
    assert done.returncode == 1, done
    assert "templates/db.conf.j2:1: file:/etc/e2e/db.conf: in template: access to attribute 'reveal'" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    assert not leaks(done.stdout + done.stderr)


def test_a_secret_in_a_numeric_attribute_is_a_compile_error_with_file_and_line(site):
    site.append("manifests/db.yaml", CRASH)
    done = converge_db1(site)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "manifests/db.yaml:" in done.stderr and "timeout" in done.stderr
    assert not leaks(done.stdout + done.stderr)


# -- loop items, titles and error messages (issue 20, items 1 and 3) --------------------------------------
# What goes to syslog is the report's resource lines and error (agent/cli/converge.py) and the audit log's
# lines with their hashes (syslog_lines): grepping the stored reports and those lines covers it.

LOOP = """\
  - file: /etc/e2e/loop.cred
    loop: [{cred: "app:{{ password }}"}]
    content: "{{ item.cred }}\\n"
  - exec: loop-env
    loop: [{cred: "app:{{ password }}"}]
    command: [/bin/true]
    environment: {CRED: "{{ item.cred }}"}
    refreshonly: true
"""
LOOP_ARGV = """\
  - exec: loop-argv
    loop: [{cred: "app:{{ password }}"}]
    command: [/bin/echo, "{{ item.cred }}"]
"""
LOOP_TITLE = """\
  - file: "/etc/e2e/{{ item.cred }}"
    loop: [{cred: "app-{{ password }}"}]
    content: x
"""
LOOP_CHOICE = """\
  - file: /etc/e2e/choice
    loop: [{cred: "app-{{ password }}"}]
    ensure: "{{ item.cred }}"
"""


def everything_left(site, host: str = "db1") -> list[tuple[str, bytes]]:
    """Every file in the host's state directory (reports, state, audit log) but the bucket, and the syslog
    lines of its audit log."""
    from agent.secrets.auditlog import syslog_lines

    state = site.state(host)
    kept = [p for p in walk_files(state) if p.relative_to(state).parts[0] not in ("gnupg", "bucket")]
    out = [(str(p), p.read_bytes()) for p in kept]
    log = state / "audit.log"
    if log.is_file():
        lines = [line for line in log.read_bytes().splitlines() if line]
        out.append(("syslog", "\n".join(syslog_lines(lines)).encode()))
    return out


def assert_nothing_leaked(site, *runs: subprocess.CompletedProcess[str]) -> None:
    for done in runs:
        assert not leaks(done.stdout + done.stderr, EVERY_SECRET), done.args
    for where, data in everything_left(site):
        assert not leaks(data, EVERY_SECRET), where


def test_a_loop_item_from_a_secret_is_sensitive_everywhere(site):
    import json

    site.append("manifests/db.yaml", LOOP)
    plan = site.converge("plan", "db1")
    debug_plan = site.tend("--debug", "plan", "--repo", str(site.repo), "--host", "db1",
                           "--state-dir", str(site.state("db1")), "--root", str(site.root("db1")))  # fmt: skip
    applied = site.converge("apply", "db1", "--json")
    assert applied.returncode == 0, applied.stderr
    assert "    content changed (sensitive)" in plan.stdout
    report = json.loads(applied.stdout)
    entries = {r["id"]: r for r in report["resources"]}
    assert entries["file:/etc/e2e/loop.cred"]["sensitive"] is True
    assert entries["exec:loop-env"]["sensitive"] is True
    cred = site.root("db1") / "etc/e2e/loop.cred"
    assert stat.S_IMODE(cred.stat().st_mode) == 0o600
    assert cred.read_text() == f"app:{PLAIN['db::password']}\n"
    assert_nothing_leaked(site, plan, debug_plan, applied)


@pytest.mark.parametrize(
    ("manifest", "said"),
    [
        (LOOP_ARGV, "'command' may not be computed from a secret"),
        (LOOP_TITLE, "file:/etc/e2e/{{ item.cred }}: the title may not be computed from a secret"),
        (LOOP_CHOICE, "'ensure' must be one of"),
    ],
    ids=["argv", "title", "error-message"],
)
def test_a_loop_item_from_a_secret_is_refused_without_showing_it(site, manifest: str, said: str):
    site.append("manifests/db.yaml", manifest)
    runs = [
        site.converge("apply", "db1"),
        site.converge("apply", "db1", "--json"),
        site.converge("plan", "db1"),
        site.tend(
            "--debug",
            "apply",
            "--repo",
            str(site.repo),
            "--host",
            "db1",
            "--state-dir",
            str(site.state("db1")),
            "--root",
            str(site.root("db1")),
        ),
    ]
    for done in runs:
        assert done.returncode == 1, done.args
        assert said in done.stdout + done.stderr, done.stdout + done.stderr
    check = site.tend("check")
    assert check.returncode == 1 and "FAIL db1" in check.stdout and said in check.stdout, check.stdout
    assert "<secret" not in check.stdout
    assert_nothing_leaked(site, *runs, check)
    assert not (site.root("db1") / "etc/e2e").exists()


# -- old content (issue 20, item 8): a path that held a secret stays redacted --------------------------

HELD = """\
  - file: /etc/e2e/held.env
    content: "PASSWORD={{ password }}\\n"
"""
RELEASED = """\
  - file: /etc/e2e/held.env
    content: "PASSWORD=none\\n"
"""


def test_a_file_that_stops_holding_a_secret_stays_redacted(site):
    import json

    manifest = (site.repo / "manifests/db.yaml").read_text()
    site.append("manifests/db.yaml", HELD)
    assert converge_db1(site).returncode == 0
    held = site.root("db1") / "etc/e2e/held.env"
    old = held.read_bytes()
    (site.repo / "manifests/db.yaml").write_text(manifest + RELEASED)
    plan = site.converge("plan", "db1")
    planned = site.converge("plan", "db1", "--json")
    applied = site.converge("apply", "db1", "--json")
    assert applied.returncode == 0, applied.stderr
    assert held.read_text() == "PASSWORD=none\n"
    assert "    content changed (sensitive)" in plan.stdout
    for done in (planned, applied):
        entry = next(r for r in json.loads(done.stdout)["resources"] if r["id"] == "file:/etc/e2e/held.env")
        assert entry["sensitive"] is True
        assert entry["changes"] == [{"property": "content"}], entry
    old_digest = hashlib.sha256(old).hexdigest()
    for text in (
        plan.stdout,
        planned.stdout,
        applied.stdout,
        *(data.decode(errors="replace") for _, data in everything_left(site)),
    ):
        assert old_digest not in text
    assert_nothing_leaked(site, plan, planned, applied)
    stored = [p for p in walk_files(site.state("db1") / "bucket") if p.read_bytes() == old]
    assert stored and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in stored)
    again = site.converge("plan", "db1")  # applied without the secret: no longer held, diffs come back
    assert again.returncode == 0 and "content changed" not in again.stdout


# -- the last line of defence (issue 20, item 1): output that holds a plaintext is redacted, with a warning --

SPILL = """\
  - exec: spill
    command: [/bin/sh, -c, 'while read -r line; do echo "$line"; done < /etc/e2e/db.env; exit 1']
    require: file:/etc/e2e/db.env
"""


@pytest.mark.skipif(not CHROOT, reason="the exec runs chrooted into --root only as root")
def test_output_that_holds_a_plaintext_of_this_run_is_redacted_with_a_warning(site):
    """An exec no taint reaches reads a file a secret was written to, fails, and its output is the error."""
    import json

    shell_root(site.root("db1"))
    site.append("manifests/db.yaml", SPILL)
    human = site.converge("apply", "db1")
    as_json = site.converge("apply", "db1", "--json")
    for done in (human, as_json):
        assert done.returncode == 1, done.stderr
        assert "exec:spill" in done.stderr and "redacted" in done.stderr, done.stderr
    entry = next(r for r in json.loads(as_json.stdout)["resources"] if r["id"] == "exec:spill")
    assert entry["status"] == "failed" and "PORT=5432" in entry["error"] and "[redacted]" in entry["error"]
    assert stat.S_IMODE((site.root("db1") / "etc/e2e/db.env").stat().st_mode) == 0o600  # no mode changed
    assert_nothing_leaked(site, human, as_json)

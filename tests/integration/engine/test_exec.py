"""The exec type end to end on the real filesystem (no --root), every path under tmp_path."""

from __future__ import annotations

import pwd
import time
from pathlib import Path

import pytest

from tests.integration.engine.conftest import Site, needs_root


def classes(site: Site, manifest: str) -> None:
    site.write({"data/common.yaml": "classes: [jobs]\n", "manifests/jobs.yaml": manifest})


def test_argv_command_runs_with_cwd_and_environment(host_site: Site, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    classes(
        host_site,
        f"""
        resources:
          - exec: record
            command: [/bin/sh, -c, 'printf "%s|%s|%s" "$(pwd)" "$GREETING" "$1" > out', sh, "two words"]
            cwd: {work}
            environment: {{GREETING: hello}}
            creates: {work}/out
        """,
    )
    first = host_site.apply()
    assert first.returncode == 2, first.stdout + first.stderr
    assert first.result("exec:record")["changes"] == [{"property": "returns", "from": "notrun", "to": [0]}]
    assert (work / "out").read_text() == f"{work}|hello|two words"
    second = host_site.apply()
    assert second.returncode == 0 and second.statuses == {"exec:record": "unchanged"}


def test_creates_guard(host_site: Site, tmp_path: Path) -> None:
    log = tmp_path / "log"
    classes(
        host_site,
        f"""
        resources:
          - exec: make-it
            command: [/bin/sh, -c, "echo made >> {log}; touch {tmp_path}/made"]
            creates: {tmp_path}/made
          - exec: already-there
            command: [/bin/sh, -c, "echo already >> {log}"]
            creates: {tmp_path}
        """,
    )
    first = host_site.apply()
    assert first.returncode == 2, first.stdout + first.stderr
    assert first.statuses == {"exec:make-it": "changed", "exec:already-there": "unchanged"}
    second = host_site.apply()
    assert second.returncode == 0 and set(second.statuses.values()) == {"unchanged"}
    assert log.read_text() == "made\n"


def test_unless_and_onlyif_guards(host_site: Site, tmp_path: Path) -> None:
    log, flag, go = tmp_path / "log", tmp_path / "flag", tmp_path / "go"
    classes(
        host_site,
        f"""
        resources:
          - exec: unless-flag
            command: [/bin/sh, -c, "echo unless >> {log}; touch {flag}"]
            unless: [/bin/sh, -c, "test -e {flag}"]
          - exec: onlyif-go
            command: [/bin/sh, -c, "echo onlyif >> {log}"]
            onlyif: [/bin/sh, -c, "test -e {go}"]
          - exec: shell-guards
            command: "echo shell >> {log}; rm -f {go}"
            unless: "test -e {tmp_path}/never"
            onlyif: "test -e {go}"
            shell: true
        """,
    )
    first = host_site.apply()
    assert first.returncode == 2, first.stdout + first.stderr
    assert first.statuses == {
        "exec:unless-flag": "changed",
        "exec:onlyif-go": "unchanged",
        "exec:shell-guards": "unchanged",
    }
    assert log.read_text() == "unless\n"

    go.touch()
    second = host_site.apply()
    assert second.statuses == {
        "exec:unless-flag": "unchanged",
        "exec:onlyif-go": "changed",
        "exec:shell-guards": "changed",
    }
    assert log.read_text() == "unless\nonlyif\nshell\n"
    assert not go.exists()

    third = host_site.apply()
    assert third.returncode == 0 and set(third.statuses.values()) == {"unchanged"}


def test_refreshonly_does_not_run_unless_notified(host_site: Site, tmp_path: Path) -> None:
    classes(
        host_site,
        f"""
        resources:
          - exec: quiet
            command: [/bin/sh, -c, "touch {tmp_path}/ran"]
            refreshonly: true
        """,
    )
    for _ in range(2):
        run = host_site.apply()
        assert run.returncode == 0 and run.statuses == {"exec:quiet": "unchanged"}
    assert not (tmp_path / "ran").exists()


def test_returns_lists_the_accepted_exit_statuses(host_site: Site, tmp_path: Path) -> None:
    classes(
        host_site,
        f"""
        resources:
          - exec: three-is-fine
            command: [/bin/sh, -c, "touch {tmp_path}/a; exit 3"]
            returns: [0, 3]
            creates: {tmp_path}/a
          - exec: three-is-not
            command: [/bin/sh, -c, "exit 3"]
            returns: 0
          - exec: two-only
            command: [/bin/sh, -c, "exit 0"]
            returns: [2]
        """,
    )
    run = host_site.apply()
    assert run.returncode == 6, run.stdout + run.stderr
    assert run.statuses == {"exec:three-is-fine": "changed", "exec:three-is-not": "failed", "exec:two-only": "failed"}
    assert run.result("exec:three-is-fine")["changes"] == [{"property": "returns", "from": "notrun", "to": [0, 3]}]
    assert run.result("exec:three-is-not")["error"].startswith("exec:three-is-not: exited with status 3 (expected [0])")
    assert "exited with status 0 (expected [2])" in run.result("exec:two-only")["error"]


NOISY = 'echo START; head -c 20000 /dev/zero | tr "\\\\0" x; echo; echo "the reason" >&2; exit 1'


def test_a_failing_command_reports_its_output_truncated(host_site: Site, tmp_path: Path) -> None:
    classes(
        host_site,
        f"""
        resources:
          - exec: noisy
            command: [/bin/sh, -c, '{NOISY}']
          - exec: quiet-failure
            command: [/bin/sh, -c, "exit 7"]
          - file: {tmp_path}/after
            content: "x"
            require: exec:noisy
          - file: {tmp_path}/independent
            content: "y"
        """,
    )
    run = host_site.apply()
    assert run.returncode == 6, run.stdout + run.stderr
    error = run.result("exec:noisy")["error"]
    assert error.startswith("exec:noisy: exited with status 1 (expected [0]); output: ")
    assert error.endswith("the reason")
    assert "START" not in error and len(error) < 4300  # the end of the output is kept, not all 20 kB
    assert (
        run.result("exec:quiet-failure")["error"]
        == "exec:quiet-failure: exited with status 7 (expected [0]); no output"
    )
    assert run.status(f"file:{tmp_path}/after") == "skipped"
    assert not (tmp_path / "after").exists()
    assert run.status(f"file:{tmp_path}/independent") == "changed"


def test_timeout_kills_the_command(host_site: Site, tmp_path: Path) -> None:
    classes(
        host_site,
        """
        resources:
          - exec: slow
            command: [/bin/sleep, "30"]
            timeout: 1
        """,
    )
    started = time.monotonic()
    run = host_site.apply()
    assert time.monotonic() - started < 10
    assert run.returncode == 4, run.stdout + run.stderr
    assert run.result("exec:slow")["error"].startswith("exec:slow: timed out after 1 s (expected [0])")


def test_a_string_command_runs_with_shell_true(host_site: Site, tmp_path: Path) -> None:
    classes(
        host_site,
        f"""
        resources:
          - exec: "echo $((6 * 7)) > {tmp_path}/answer"
            shell: true
            creates: {tmp_path}/answer
        """,
    )
    assert host_site.apply().returncode == 2
    assert (tmp_path / "answer").read_text() == "42\n"
    assert host_site.apply().returncode == 0


@needs_root
def test_user_switches_uid(host_site: Site, tmp_path: Path) -> None:
    try:
        daemon = pwd.getpwnam("daemon").pw_uid
    except KeyError:
        pytest.skip("this host has no 'daemon' user")
    classes(
        host_site,
        f"""
        resources:
          - exec: as-daemon
            command: [/bin/sh, -c, 'test "$(id -u)" = {daemon}']
            user: daemon
            cwd: /
          - exec: as-root
            command: [/bin/sh, -c, 'test "$(id -u)" = {daemon}']
            cwd: /
        """,
    )
    run = host_site.apply()
    assert run.statuses == {"exec:as-daemon": "changed", "exec:as-root": "failed"}, run.report


@needs_root
def test_under_a_root_execs_run_inside_it(site: Site) -> None:
    """A root without binaries cannot run them: the exec fails and says where it looked."""
    classes(site, "resources:\n  - exec: hello\n    command: [/bin/true]\n")
    run = site.apply()
    assert run.returncode == 4
    assert run.result("exec:hello")["error"] == f"/bin/true: command not found: /bin/true (inside {site.root})"


def test_an_exec_that_always_runs_is_not_drift(host_site: Site, tmp_path: Path) -> None:
    classes(host_site, "resources:\n  - exec: always\n    command: [/bin/true]\n")
    for _ in range(2):
        run = host_site.apply()
        assert run.status("exec:always") == "changed"
        assert run.result("exec:always")["drift"] is False

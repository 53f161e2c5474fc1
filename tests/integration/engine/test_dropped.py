"""Dropped resources (DESIGN §2, §8.1): reported, undone where `tend::remove_dropped` or `on_drop` asks, after the
catalog and in reverse dependency order; only by a full apply, and only for the repository and host last applied."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import psutil
import pytest

from tests.integration.engine.conftest import Site

TWO_FILES = """\
resources:
  - file: /etc/keep.conf
    content: "keep\\n"
  - file: /etc/old.conf
    content: "old\\n"
"""
ONE_FILE = 'resources:\n  - file: /etc/keep.conf\n    content: "keep\\n"\n'


def declare(site: Site, manifest: str, data: str = "") -> None:
    site.write({"data/common.yaml": "classes: [site]\n" + data, "manifests/site.yaml": manifest})


def bucket_holds(site: Site, content: bytes) -> bool:
    return any(p.is_file() and p.read_bytes() == content for p in (site.state / "bucket").rglob("*"))


def test_reported_only_then_removed(site: Site) -> None:
    declare(site, TWO_FILES)
    assert site.apply().returncode == 2
    declare(site, ONE_FILE)
    dropped = site.apply()
    assert dropped.returncode == 0, dropped.stderr  # reported, nothing removed: no change
    assert dropped.statuses == {"file:/etc/keep.conf": "unchanged", "file:/etc/old.conf": "dropped"}
    assert site.path("/etc/old.conf").read_text() == "old\n"
    assert site.apply().status("file:/etc/old.conf") == "dropped"  # every run until declared again or removed

    declare(site, ONE_FILE, "tend::remove_dropped: [file]\n")
    plan = site.plan()
    assert plan.result("file:/etc/old.conf")["status"] == "would-remove" and plan.returncode == 2
    assert site.path("/etc/old.conf").exists()
    removed = site.apply()
    assert removed.returncode == 2, removed.stderr
    assert removed.result("file:/etc/old.conf")["status"] == "removed"
    assert removed.result("file:/etc/old.conf")["changes"] == [{"property": "ensure", "from": "file", "to": "absent"}]
    assert not site.path("/etc/old.conf").exists() and bucket_holds(site, b"old\n")
    again = site.apply()
    assert again.returncode == 0 and "file:/etc/old.conf" not in again.statuses
    assert "file:/etc/old.conf" not in site.state_json()["catalog"]


def test_on_drop_of_the_resource_wins_over_the_key(site: Site) -> None:
    declare(
        site,
        'resources:\n  - file: /etc/a\n    content: "a\\n"\n    on_drop: keep\n'
        '  - file: /etc/b\n    content: "b\\n"\n    on_drop: remove\n  - file: /etc/c\n    content: "c\\n"\n',
        "tend::remove_dropped: [file]\n",
    )
    site.apply()
    declare(site, 'resources:\n  - file: /etc/c\n    content: "c\\n"\n')
    run = site.apply()
    assert (run.status("file:/etc/a"), run.status("file:/etc/b")) == ("dropped", "removed")
    assert site.path("/etc/a").exists() and not site.path("/etc/b").exists()
    declare(site, 'resources:\n  - file: /etc/c\n    content: "c\\n"\n', "tend::remove_dropped: []\n")
    assert site.apply().status("file:/etc/a") == "dropped"


def test_a_dropped_resource_that_comes_back_or_moves_is_managed_again(site: Site) -> None:
    declare(site, TWO_FILES, "tend::remove_dropped: [file]\n")
    site.apply()
    renamed = ONE_FILE + '  - file: old config\n    path: /etc/old.conf\n    content: "new\\n"\n'
    declare(site, renamed, "tend::remove_dropped: [file]\n")
    run = site.apply()
    assert "file:/etc/old.conf" not in run.statuses  # another resource manages that path now
    assert site.path("/etc/old.conf").read_text() == "new\n"
    declare(site, TWO_FILES, "tend::remove_dropped: [file]\n")
    back = site.apply()
    assert back.status("file:/etc/old.conf") == "changed" and not back.result("file:/etc/old.conf")["drift"]


def test_files_are_removed_before_their_directory(site: Site) -> None:
    declare(
        site,
        'resources:\n  - file: /etc/app\n    ensure: directory\n  - file: /etc/app/a.conf\n    content: "a\\n"\n'
        '  - file: /etc/app/sub\n    ensure: directory\n  - file: /etc/app/sub/b.conf\n    content: "b\\n"\n',
        "tend::remove_dropped: [file]\n",
    )
    assert site.apply().returncode == 2
    declare(site, ONE_FILE, "tend::remove_dropped: [file]\n")
    run = site.apply()
    order = [r["id"] for r in run.report["resources"] if r["status"] == "removed"]
    assert order.index("file:/etc/app/sub/b.conf") < order.index("file:/etc/app/sub") < order.index("file:/etc/app")
    assert order.index("file:/etc/app/a.conf") < order.index("file:/etc/app")
    assert not site.path("/etc/app").exists()


def test_a_failed_removal_is_reported_and_retried(site: Site) -> None:
    manifest = "resources:\n  - file: /etc/data\n    ensure: directory\n"
    declare(site, manifest + ONE_FILE.removeprefix("resources:\n"), "tend::remove_dropped: [file]\n")
    assert site.apply().returncode == 2
    site.path("/etc/data/stray").write_text("not tend's\n")
    declare(site, ONE_FILE, "tend::remove_dropped: [file]\n")
    failed = site.apply()
    assert failed.returncode == 4 and failed.status("file:/etc/data") == "failed"
    assert site.path("/etc/data/stray").exists()
    site.path("/etc/data/stray").unlink()
    retried = site.apply()
    assert retried.status("file:/etc/data") == "removed" and not site.path("/etc/data").exists()


def test_only_a_full_apply_marks_or_undoes(site: Site) -> None:
    declare(site, TWO_FILES, "tend::remove_dropped: [file]\n")
    site.apply()
    recorded = site.state_json()["catalog"]
    declare(site, ONE_FILE, "tend::remove_dropped: [file]\n")
    tagged = site.apply("--tags", "site")
    assert "file:/etc/old.conf" not in tagged.statuses
    noop = site.apply("--noop")
    assert noop.status("file:/etc/old.conf") == "would-remove"
    plan = site.plan()
    assert plan.status("file:/etc/old.conf") == "would-remove"
    assert site.path("/etc/old.conf").exists() and site.state_json()["catalog"] == recorded
    assert site.apply().status("file:/etc/old.conf") == "removed"


def test_another_repository_or_host_undoes_nothing(site: Site, tmp_path: Path) -> None:
    declare(site, TWO_FILES, "tend::remove_dropped: [file]\n")
    site.apply()
    other = Site(tmp_path / "other-repo", site.root, site.state)
    shutil.copytree(site.repo, other.repo)
    declare(other, ONE_FILE, "tend::remove_dropped: [file]\n")
    run = other.apply()
    assert "file:/etc/old.conf" not in run.statuses and site.path("/etc/old.conf").exists()
    assert "the state was last applied for" in run.stderr and "no resource is taken for dropped" in run.stderr

    declare(site, TWO_FILES, "tend::remove_dropped: [file]\n")
    site.apply()  # the state is this repository's again
    declare(site, ONE_FILE, "tend::remove_dropped: [file]\n")
    as_other_host = site.apply("--host", "web1")
    assert "file:/etc/old.conf" not in as_other_host.statuses and site.path("/etc/old.conf").exists()
    assert "the state was last applied for" in as_other_host.stderr


def test_a_dropped_service_is_stopped(host_site: Site, tmp_path: Path) -> None:
    """The base provider with a real process (under --root tend leaves running state alone, so this site is
    the real filesystem, every path under tmp_path); `enable` is systemd's (the nspawn e2e covers disabling)."""
    site, keep = host_site, tmp_path / "keep.conf"
    pidfile = tmp_path / "worker.pid"
    service = (
        f"  - service: tendtest-dropped\n    ensure: running\n    pidfile: {pidfile}\n"
        f'    start: [/bin/sh, -c, "sleep 300 > /dev/null 2>&1 & echo $! > {pidfile}"]\n'
    )
    declare(site, f'resources:\n  - file: {keep}\n    content: "k\\n"\n' + service, "tend::remove_dropped: [service]\n")
    assert site.apply().status("service:tendtest-dropped") == "changed"
    pid = int(pidfile.read_text())
    try:
        declare(site, f'resources:\n  - file: {keep}\n    content: "k\\n"\n', "tend::remove_dropped: [service]\n")
        run = site.apply()
        assert run.result("service:tendtest-dropped")["changes"] == [
            {"property": "ensure", "from": "running", "to": "stopped"}
        ]
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    finally:
        if psutil.pid_exists(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_crash_during_removal_is_finished_by_the_next_run(host_site: Site, tmp_path: Path) -> None:
    """The stop command kills tend itself the first time, in the middle of the undo; the next run finishes."""
    site, keep, conf = host_site, tmp_path / "keep.conf", tmp_path / "service.conf"
    marker, flag = tmp_path / "crashed-once", tmp_path / "running"
    service = (
        "  - service: tendtest-crash\n    ensure: running\n"
        f'    start: [touch, "{flag}"]\n    status: [test, -e, "{flag}"]\n'
        f'    stop: [/bin/sh, -c, "test -e {marker} || {{ touch {marker}; kill -9 $PPID; exit 1; }}; rm -f {flag}"]\n'
        f'  - file: {conf}\n    content: "s\\n"\n    before: service:tendtest-crash\n'
    )
    declare(
        site,
        f'resources:\n  - file: {keep}\n    content: "k\\n"\n' + service,
        "tend::remove_dropped: [service, file]\n",
    )
    site.apply()
    declare(site, f'resources:\n  - file: {keep}\n    content: "k\\n"\n', "tend::remove_dropped: [service, file]\n")
    crashed = site.apply()
    assert crashed.returncode == -signal.SIGKILL and marker.exists()
    assert flag.exists() and conf.exists()
    finished = site.apply()
    assert finished.returncode == 2, finished.stderr
    assert finished.status("service:tendtest-crash") == "removed"
    assert finished.status(f"file:{conf}") == "removed"
    assert not flag.exists() and not conf.exists()
    assert site.apply().returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (useradd --prefix writes the root's account files)")
@pytest.mark.skipif(shutil.which("useradd") is None, reason="needs useradd, userdel (make deps installs them)")
def test_a_dropped_user_is_removed_and_its_home_kept(site: Site) -> None:
    for name, text in {"etc/shadow": "root:*:19000:0:99999:7:::\n", "etc/gshadow": "root:*::\n"}.items():
        site.path("/" + name).write_text(text)
        site.path("/" + name).chmod(0o640)
    site.path("/etc/shells").write_text("/bin/sh\n")
    site.path("/bin").mkdir(exist_ok=True)
    site.path("/bin/sh").write_text("#!/bin/true\n")
    site.path("/bin/sh").chmod(0o755)
    user = "  - user: tendtest-gone\n    uid: 3201\n    home: /home/gone\n    managehome: true\n    shell: /bin/sh\n"
    declare(site, ONE_FILE + user, "tend::remove_dropped: [user]\n")
    first = site.apply()
    assert first.status("user:tendtest-gone") == "changed", first.stderr
    site.path("/home/gone/notes").write_text("mine\n")
    declare(site, ONE_FILE, "tend::remove_dropped: [user]\n")
    run = site.apply()
    assert run.status("user:tendtest-gone") == "removed", run.stderr
    assert "tendtest-gone" not in site.path("/etc/passwd").read_text()
    assert site.path("/home/gone/notes").read_text() == "mine\n"


def test_a_dropped_file_in_a_purged_directory_is_reported_once_as_removed(site: Site) -> None:
    """DESIGN §8.17: the purge removes it (to the bucket) and it is not also reported dropped."""
    purged = "resources:\n  - file: /etc/app\n    ensure: directory\n    purge: true\n"
    declare(site, purged + '  - file: /etc/app/old.conf\n    content: "old\\n"\n')
    assert site.apply().returncode == 2
    declare(site, purged)
    plan = site.plan()
    assert [r["status"] for r in plan.report["resources"] if r["id"] == "file:/etc/app/old.conf"] == ["would-purge"]
    removed = site.apply()
    assert removed.returncode == 2, removed.stderr
    entries = [r for r in removed.report["resources"] if r["id"] == "file:/etc/app/old.conf"]
    assert [(r["status"], r["changes"]) for r in entries] == [
        ("removed", [{"property": "ensure", "from": "file", "to": "absent"}])
    ]
    assert not site.path("/etc/app/old.conf").exists() and bucket_holds(site, b"old\n")
    again = site.apply()
    assert again.returncode == 0 and "file:/etc/app/old.conf" not in again.statuses
    assert "file:/etc/app/old.conf" not in site.state_json()["catalog"]


def test_dropped_edits_are_taken_out_of_the_file_and_the_rest_of_it_kept(site: Site) -> None:
    original = "# login.defs\nPASS_MAX_DAYS 99999\n[Journal]\nCompress=yes\n"
    site.path("/etc/edited.conf").parent.mkdir(parents=True, exist_ok=True)
    site.path("/etc/edited.conf").write_text(original)
    edits = """\
resources:
  - line: "UMASK 027"
    path: /etc/edited.conf
  - block: proxy
    path: /etc/edited.conf
    content: "export http_proxy=http://proxy:3128\\n"
  - ini: journald storage
    path: /etc/edited.conf
    section: Journal
    setting: Storage
    value: persistent
    separator: "="
"""
    declare(site, edits)
    assert site.apply().returncode == 2
    edited = site.path("/etc/edited.conf").read_text()
    assert "UMASK 027\n" in edited and "Storage=persistent\n" in edited and "http_proxy" in edited
    declare(site, "resources: []\n", "tend::remove_dropped: [line, block, ini]\n")
    removed = site.apply()
    assert removed.returncode == 2, removed.stderr
    assert {rid: status for rid, status in removed.statuses.items()} == {
        "line:UMASK 027": "removed", "block:proxy": "removed", "ini:journald storage": "removed",
    }  # fmt: skip
    assert site.path("/etc/edited.conf").read_text() == original
    assert site.apply().returncode == 0


def test_the_temps_a_killed_undo_left_are_removed_by_the_run_that_undoes_it_again(site: Site) -> None:
    """A directory only dropped resources write in is cleaned too (its temps are no declared resource's)."""
    site.path("/srv/edited").mkdir(parents=True)
    site.path("/srv/edited/a.conf").write_text("# a\n")
    declare(site, 'resources:\n  - line: "UMASK 027"\n    path: /srv/edited/a.conf\n    on_drop: remove\n')
    assert site.apply().returncode == 2
    left = site.path("/srv/edited/.a.conf.tend-0a1b2c")
    left.write_text("# a\n")  # as a run killed between the undo's temp and its rename leaves it
    declare(site, ONE_FILE)
    undone = site.apply()
    assert undone.status("line:UMASK 027") == "removed", undone.stderr
    assert site.path("/srv/edited/a.conf").read_text() == "# a\n" and not left.exists()

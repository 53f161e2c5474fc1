"""notify/subscribe refreshes end to end, and their crash safety: a refresh owed is delivered by a later run."""

from __future__ import annotations

from pathlib import Path

from tests.integration.engine.conftest import Site


def test_notify_and_subscribe_refresh_only_on_change(host_site: Site, tmp_path: Path) -> None:
    log = tmp_path / "log"
    host_site.write(
        {
            "data/common.yaml": "classes: [svc]\n",
            "manifests/svc.yaml": f"""
                resources:
                  - file: {tmp_path}/a.conf
                    content: "a={{{{ facts.a }}}}"
                    notify: exec:reload-a
                  - file: {tmp_path}/b.conf
                    content: "b={{{{ facts.b }}}}"
                  - exec: reload-a
                    command: [/bin/sh, -c, "echo a >> {log}"]
                    refreshonly: true
                  - exec: reload-b
                    command: [/bin/sh, -c, "echo b >> {log}"]
                    refreshonly: true
                    subscribe: file:{tmp_path}/b.conf
            """,
        }
    )
    first = host_site.apply("--fact", "a=1", "--fact", "b=1")
    assert first.returncode == 2, first.stdout + first.stderr
    assert first.result("exec:reload-a")["changes"] == [
        {"property": "refresh", "from": None, "to": [f"file:{tmp_path}/a.conf"]}
    ]
    assert first.status("exec:reload-b") == "changed"
    assert log.read_text() == "a\nb\n"

    same = host_site.apply("--fact", "a=1", "--fact", "b=1")
    assert same.returncode == 0 and set(same.statuses.values()) == {"unchanged"}

    only_a = host_site.apply("--fact", "a=2", "--fact", "b=1")
    assert only_a.statuses == {
        f"file:{tmp_path}/a.conf": "changed",
        f"file:{tmp_path}/b.conf": "unchanged",
        "exec:reload-a": "changed",
        "exec:reload-b": "unchanged",
    }
    only_b = host_site.apply("--fact", "a=2", "--fact", "b=2")
    assert only_b.status("exec:reload-a") == "unchanged" and only_b.status("exec:reload-b") == "changed"
    assert log.read_text() == "a\nb\na\nb\n"
    assert host_site.state_json()["owed_refresh"] == {}


def test_a_failed_refresh_is_delivered_by_the_next_run(host_site: Site, tmp_path: Path) -> None:
    log, ready = tmp_path / "log", tmp_path / "ready"
    conf = f"file:{tmp_path}/app.conf"
    host_site.write(
        {
            "data/common.yaml": "classes: [svc]\n",
            "manifests/svc.yaml": f"""
                resources:
                  - file: {tmp_path}/app.conf
                    content: "v=1\\n"
                    notify: exec:restart
                  - exec: restart
                    command: [/bin/sh, -c, "test -e {ready} && echo restarted >> {log}"]
                    refreshonly: true
            """,
        }
    )
    failing = host_site.apply()
    assert failing.returncode == 6, failing.stdout + failing.stderr
    assert failing.statuses == {conf: "changed", "exec:restart": "failed"}
    assert "exited with status 1" in failing.result("exec:restart")["error"]
    assert host_site.state_json()["owed_refresh"] == {"exec:restart": [conf]}

    # A noop run sees the refresh still owed, and leaves it owed.
    noop = host_site.apply("--noop")
    assert noop.statuses == {conf: "unchanged", "exec:restart": "would-refresh"}
    assert host_site.state_json()["owed_refresh"] == {"exec:restart": [conf]}

    ready.touch()
    delivered = host_site.apply()
    assert delivered.returncode == 2, delivered.stdout + delivered.stderr
    assert delivered.statuses == {conf: "unchanged", "exec:restart": "changed"}
    assert delivered.result("exec:restart")["changes"] == [{"property": "refresh", "from": None, "to": [conf]}]
    assert log.read_text() == "restarted\n"
    assert host_site.state_json()["owed_refresh"] == {}

    quiet = host_site.apply()
    assert quiet.returncode == 0 and set(quiet.statuses.values()) == {"unchanged"}
    assert log.read_text() == "restarted\n"


def test_a_source_that_fails_to_change_owes_no_refresh(host_site: Site, tmp_path: Path) -> None:
    log = tmp_path / "log"
    host_site.write(
        {
            "data/common.yaml": "classes: [svc]\n",
            "manifests/svc.yaml": f"""
                resources:
                  - file: {tmp_path}/app.conf
                    content: "broken\\n"
                    validate: grep -q good {{path}}
                    notify: exec:restart
                  - exec: restart
                    command: [/bin/sh, -c, "echo restarted >> {log}"]
                    refreshonly: true
            """,
        }
    )
    run = host_site.apply()
    assert run.statuses == {f"file:{tmp_path}/app.conf": "failed", "exec:restart": "skipped"}
    assert host_site.state_json()["owed_refresh"] == {}
    assert not log.exists()

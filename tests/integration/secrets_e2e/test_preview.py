"""`tend plan --host H`: an admin's preview with no agent keyring, and the host's own plan."""

from __future__ import annotations

import json

from tests.integration.secrets_e2e.conftest import leaks

SENSITIVE = ("file:/etc/e2e/db.env", "file:/etc/e2e/site.token")


def diff_of(stdout: str, rid: str) -> list[str]:
    """The indented lines plan prints under the line of resource `rid`."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[1:2] == [rid])
    out = []
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        out.append(line.strip())
    return out


def test_an_admin_previews_a_host_with_placeholders_and_no_agent_keyring(site):
    state = site.state("admin-preview", keyring=None)
    root = site.root("preview")
    for extra, codes in ((("--detailed-exitcodes",), {2}), ((), {0})):
        done = site.admin(
            "plan", "--host", "db1", "--state-dir", str(state), "--root", str(root), *extra
        )  # GNUPGHOME holds the admin's key: the preview must still not decrypt
        assert done.returncode in codes, done.stdout + done.stderr
        for rid in SENSITIVE:
            assert f"would-change   {rid} (ensure, sensitive)" in done.stdout
            assert diff_of(done.stdout, rid) == ["content changed (sensitive)"]
        assert "+welcome to db1" in diff_of(done.stdout, "file:/etc/e2e/motd")
        assert not leaks(done.stdout + done.stderr)
        assert list(root.rglob("*")) == [root / "etc"]
    assert not (state / "reports" / "last_run.json").exists()  # noop reports never replace it (DESIGN §8.1)
    report = json.loads(max((state / "reports").glob("0*.json")).read_text())
    assert report["secrets_read"] == [], "a preview decrypted something"
    assert report["mode"] == "noop"


def test_the_host_plans_with_its_own_key_and_sees_sensitive_changes_only(site):
    root = site.root("db1")
    plan = site.converge("plan", "db1", "--detailed-exitcodes")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    for rid in SENSITIVE:
        assert diff_of(plan.stdout, rid) == ["content changed (sensitive)"]
    assert list(root.rglob("*")) == [root / "etc"]
    assert site.converge("apply", "db1").returncode == 0
    (root / "etc/e2e/db.env").write_text("PASSWORD=local-edit-9e1\n")
    drift = site.converge("plan", "db1", "--detailed-exitcodes")
    assert drift.returncode == 2, drift.stdout + drift.stderr
    assert "would-change   file:/etc/e2e/db.env (content, sensitive)" in drift.stdout
    assert diff_of(drift.stdout, "file:/etc/e2e/db.env") == ["content changed (sensitive)"]
    assert "local-edit-9e1" not in drift.stdout  # the current content is sensitive too
    noop = site.converge("apply", "db1", "--noop", "--json")
    assert noop.returncode == 0, noop.stderr
    db_env = next(r for r in json.loads(noop.stdout)["resources"] if r["id"] == "file:/etc/e2e/db.env")
    assert db_env == {**db_env, "status": "would-change", "sensitive": True, "changes": [{"property": "content"}]}
    for done in (plan, drift, noop):
        assert not leaks(done.stdout + done.stderr)

"""Drift: a managed file changed behind tend's back is marked `drift: true` and fixed; a new manifest is not drift."""

from __future__ import annotations

import os

from tests.integration.engine.conftest import Site

MANIFEST = """
resources:
  - file: /etc/app.conf
    content: "level={{ facts.level }}\\n"
    mode: "0644"
  - file: /etc/other.conf
    content: "other\\n"
"""


def test_hand_edits_are_drift_and_are_fixed(site: Site) -> None:
    site.write({"data/common.yaml": "classes: [app]\n", "manifests/app.yaml": MANIFEST})
    first = site.apply("--fact", "level=1")
    assert first.returncode == 2
    assert not any(r["drift"] for r in first.report["resources"])  # a first run knows no earlier state

    conf = site.path("/etc/app.conf")
    conf.write_text("level=999\n")
    edited = site.apply("--fact", "level=1")
    assert edited.returncode == 2
    assert edited.status("file:/etc/app.conf") == "changed"
    assert edited.result("file:/etc/app.conf")["drift"] is True
    assert edited.result("file:/etc/other.conf")["drift"] is False
    assert conf.read_text() == "level=1\n"

    conf.chmod(0o600)
    os.unlink(site.path("/etc/other.conf"))
    text = site.apply("--fact", "level=1", json_report=False, detailed=False)
    assert text.returncode == 0
    assert "changed        file:/etc/app.conf (mode) [drift]" in text.stdout
    assert "changed        file:/etc/other.conf (ensure) [drift]" in text.stdout
    assert "2 drifted" in text.stdout
    assert site.last_report()["resources"][0]["drift"] is True

    quiet = site.apply("--fact", "level=1")
    assert quiet.returncode == 0
    assert not any(r["drift"] for r in quiet.report["resources"])


def test_a_changed_manifest_is_not_drift(site: Site) -> None:
    site.write({"data/common.yaml": "classes: [app]\n", "manifests/app.yaml": MANIFEST})
    assert site.apply("--fact", "level=1").returncode == 2
    new_data = site.apply("--fact", "level=2")
    assert new_data.status("file:/etc/app.conf") == "changed"
    assert new_data.result("file:/etc/app.conf")["drift"] is False

    site.write({"manifests/app.yaml": MANIFEST.replace('mode: "0644"', 'mode: "0640"')})
    new_manifest = site.apply("--fact", "level=2")
    assert new_manifest.result("file:/etc/app.conf")["changes"] == [{"property": "mode", "from": "0644", "to": "0640"}]
    assert new_manifest.result("file:/etc/app.conf")["drift"] is False
    assert site.path("/etc/app.conf").read_text() == "level=2\n"


def test_drift_after_a_noop_run_is_still_drift(site: Site) -> None:
    """noop records nothing: the next real run compares with the last real one."""
    site.write({"data/common.yaml": "classes: [app]\n", "manifests/app.yaml": MANIFEST})
    assert site.apply("--fact", "level=1").returncode == 2
    site.path("/etc/app.conf").write_text("tampered\n")
    noop = site.apply("--noop", "--fact", "level=1")
    assert noop.status("file:/etc/app.conf") == "would-change"
    assert noop.result("file:/etc/app.conf")["drift"] is True
    fixed = site.apply("--fact", "level=1")
    assert fixed.result("file:/etc/app.conf")["drift"] is True
    assert site.path("/etc/app.conf").read_text() == "level=1\n"

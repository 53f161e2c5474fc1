"""Two compiled catalogs compared: added, removed, changed attribute by attribute, text as a unified diff."""

from __future__ import annotations

from agent.fleet.catalogs import plain
from agent.fleet.diff import FleetDiff, compare, render_text
from agent.secrets.secret import Secret


def test_added_removed_and_changed_attribute_by_attribute():
    old = {"file:/a": {"mode": "0644", "content": "one\ntwo\n"}, "package:x": {"ensure": "installed"}}
    new = {"file:/a": {"mode": "0600", "content": "one\nthree\n"}, "service:y": {"ensure": "running"}}
    result = compare("web1", old, new, "HEAD", "working tree")
    assert (result.added, result.removed) == (["service:y"], ["package:x"])
    [change] = result.changed
    assert change.changes == [{"property": "content"}, {"property": "mode", "from": "0644", "to": "0600"}]
    assert change.diff.splitlines() == [
        "--- file:/a content (HEAD)", "+++ file:/a content (working tree)", "@@ -1,2 +1,2 @@", " one", "-two", "+three"
    ]  # fmt: skip
    text = render_text(FleetDiff([result], 3, []))
    assert "  ~ file:/a\n      mode: '0644' -> '0600'\n      --- file:/a content (HEAD)\n" in text
    assert text.endswith("1 of 3 hosts change: 1 resources added, 1 removed, 1 changed\n")
    assert compare("web1", old, old, "a", "b").empty


def test_secrets_are_placeholders_and_bytes_text_or_a_note():
    secret = Secret("hunter2", key="db::password", file="hieradata/db.yaml")
    assert plain({"x": [secret]}) == {"x": ["<secret hieradata/db.yaml:db::password>"]}
    assert plain(b"text") == "text"
    assert plain(b"\xff\x00").startswith("<binary: 2 bytes, sha256 ")

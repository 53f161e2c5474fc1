"""The compile cache of `tend apply` (DESIGN §8.19): a no-op run reuses the compile while the repository and the
facts the compile read are unchanged, and compiles afresh when a manifest, a template, a data file or a fact it
read changes; a damaged entry is compiled over; the report and the state are those of a compile.

A hit is seen on disk: the entry is read, not written again (its inode stays); a compile writes it anew (an
atomic rename, so a new inode, or a new name when the repository changed). Files younger than two seconds are
named by their content as well as their stat, so each test lets the repository age before counting hits.
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.integration.engine.conftest import Site

SITE = """\
parameters: {motd: ""}
resources:
  - file: /etc/motd
    content: "{{ motd }}\\n"
  - file: /etc/colour
    template: colour.j2
    when: "{{ facts.get('colour') is not none }}"
"""


def entries(site: Site) -> dict[str, int]:
    """Each cache entry by name, with its inode."""
    folder = site.state / "cache"
    return {p.name: p.stat().st_ino for p in folder.glob("*.tcc")} if folder.is_dir() else {}


def written(site: Site) -> Site:
    site.write(
        {
            "data/common.yaml": "classes: [site]\nsite::motd: hello\n",
            "manifests/site.yaml": SITE,
            "templates/colour.j2": "colour={{ facts.colour }}\n",
        }
    )
    time.sleep(2.1)  # past the two seconds within which a file is named by its content too
    return site


def timeless(state: dict) -> dict:
    """The state without the time each resource was last seen."""
    for record in state["resources"].values():
        record.pop("at", None)
    return state


def same_run(first: dict, second: dict) -> None:
    """Two reports that differ only in their run's identity and times."""
    for report in (first, second):
        for result in report["resources"]:
            result.pop("duration_ms", None)
    for name in ("resources", "status", "exit_code", "secrets_read", "mode", "host", "bundle", "checks"):
        assert first.get(name) == second.get(name), name


def test_a_no_op_served_from_the_cache_reports_and_records_as_a_compile_does(site: Site) -> None:
    written(site)
    first = site.apply("--fact", "colour=blue")
    assert first.returncode == 2, first.stderr
    kept = entries(site)
    assert len(kept) == 1 and (site.state / "cache").stat().st_mode & 0o777 == 0o700
    assert all((site.state / "cache" / name).stat().st_mode & 0o777 == 0o600 for name in kept)
    hit = site.apply("--fact", "colour=blue")
    assert hit.returncode == 0, hit.stderr
    assert entries(site) == kept, "a hit reads the entry and writes nothing"
    state_after_hit = timeless(site.state_json())
    fresh = site.apply("--fact", "colour=blue", "--no-cache")
    assert fresh.returncode == 0, fresh.stderr
    assert entries(site) == kept, "--no-cache neither uses nor keeps a compile"
    assert site.plan("--fact", "colour=green").returncode == 2
    assert entries(site) == kept, "plan writes nothing, the cache included"
    same_run(hit.report, fresh.report)
    assert timeless(site.state_json()) == state_after_hit
    assert site.path("/etc/colour").read_text() == "colour=blue\n"


def test_a_fact_the_compile_did_not_read_changes_nothing_one_it_read_recompiles(site: Site) -> None:
    written(site)
    assert site.apply("--fact", "colour=blue", "--fact", "unread=1").returncode == 2
    kept = entries(site)
    again = site.apply("--fact", "colour=blue", "--fact", "unread=2")
    assert again.returncode == 0, again.stderr
    assert entries(site) == kept, "a fact nothing read does not invalidate the compile"
    changed = site.apply("--fact", "colour=red", "--fact", "unread=2")
    assert changed.returncode == 2, changed.stderr
    assert set(entries(site)) == set(kept) and entries(site) != kept, "compiled afresh, kept under the same key"
    assert site.path("/etc/colour").read_text() == "colour=red\n"
    gone = site.apply()
    assert gone.statuses == {"file:/etc/motd": "unchanged", "file:/etc/colour": "dropped"}


def test_a_change_of_a_manifest_a_template_or_a_data_file_recompiles(site: Site) -> None:
    written(site)
    assert site.apply("--fact", "colour=blue").returncode == 2
    for relative, text, path, expected in [
        ("templates/colour.j2", "hue={{ facts.colour }}\n", "/etc/colour", "hue=blue\n"),
        ("data/common.yaml", "classes: [site]\nsite::motd: bye\n", "/etc/motd", "bye\n"),
        ("manifests/site.yaml", SITE.replace('\\n"', '!\\n"'), "/etc/motd", "bye!\n"),
    ]:
        before = entries(site)
        site.write({relative: text})
        done = site.apply("--fact", "colour=blue")
        assert done.returncode == 2, (relative, done.stderr)
        assert site.path(path).read_text() == expected, relative
        assert set(entries(site)) - set(before), f"a new tree, a new entry ({relative})"


def test_a_damaged_entry_is_compiled_over(site: Site) -> None:
    written(site)
    assert site.apply().returncode == 2
    (name,) = entries(site)
    path: Path = site.state / "cache" / name
    path.write_bytes(path.read_bytes()[:100])
    done = site.apply()
    assert done.returncode == 0, done.stderr
    assert set(done.statuses.values()) == {"unchanged"}
    assert path.stat().st_size > 100, "written anew"

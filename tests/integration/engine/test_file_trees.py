"""The file type's trees through the CLI: directory sources, purge (nested, links, ignore, what others own),
force, replace: false."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from tests.integration.engine.conftest import Site, apply_twice


def manifest(site: Site, body: str) -> None:
    site.write({"data/common.yaml": "classes: [tree]\n", "manifests/tree.yaml": "resources:\n" + body})


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def in_bucket(site: Site, data: bytes) -> bool:
    digest = hashlib.sha256(data).hexdigest()
    return (site.state / "bucket" / digest[:2] / digest).is_file()


def source_tree(site: Site) -> None:
    site.write({"files/conf.d/a.conf": "a\n", "files/conf.d/sub/b.conf": "b\n", "files/conf.d/run.sh": "#!/bin/sh\n"})
    (site.repo / "files/conf.d/run.sh").chmod(0o755)
    (site.repo / "files/conf.d/current").symlink_to("a.conf")


def test_a_directory_source_becomes_one_file_per_entry(site: Site) -> None:
    source_tree(site)
    manifest(
        site,
        "  - file: /etc/app\n    source: conf.d\n    mode: '0750'\n"
        "  - file: /etc/app/sub/b.conf\n    content: mine\n",  # declared explicitly: it wins
    )
    plan = site.plan()
    assert plan.returncode == 2
    assert sorted(plan.statuses) == sorted(
        ["file:/etc/app", "file:/etc/app/a.conf", "file:/etc/app/current", "file:/etc/app/run.sh",
         "file:/etc/app/sub", "file:/etc/app/sub/b.conf"]
    )  # fmt: skip
    text = site.plan(json_report=False).stdout
    assert "+++ /etc/app/a.conf (desired)" in text and "+a\n" in text
    apply_twice(site)
    assert site.path("/etc/app/a.conf").read_text() == "a\n"
    assert site.path("/etc/app/sub/b.conf").read_text() == "mine"
    assert os.readlink(site.path("/etc/app/current")) == "a.conf"
    assert mode_of(site.path("/etc/app")) == mode_of(site.path("/etc/app/sub")) == 0o750
    assert mode_of(site.path("/etc/app/a.conf")) == 0o640
    assert mode_of(site.path("/etc/app/run.sh")) == 0o750


def test_purge_removes_strays_nested_and_links_without_following_them(site: Site, tmp_path: Path) -> None:
    source_tree(site)
    outside = site.path("/srv/outside")
    outside.mkdir(parents=True)
    (outside / "precious").write_text("keep me\n")
    conf = site.path("/etc/app")
    (conf / "sub" / "deeper").mkdir(parents=True)
    (conf / "old.conf").write_text("stale\n")
    (conf / "sub" / "deeper" / "x.conf").write_text("nested stray\n")
    (conf / "sub" / "keep.dpkg-old").write_text("ignored\n")
    (conf / "to-outside").symlink_to("/srv/outside")
    (conf / "sub" / "link-dir").symlink_to("../../../srv/outside")
    (conf / "login.defs").write_text("A\n")
    manifest(
        site,
        "  - file: /etc/app\n    source: conf.d\n    purge: true\n    ignore: ['*.dpkg-*']\n"
        "  - line: B\n    path: /etc/app/login.defs\n",  # an edit target counts as declared
    )
    strays = ["file:/etc/app/old.conf", "file:/etc/app/sub/deeper", "file:/etc/app/sub/link-dir",
              "file:/etc/app/to-outside"]  # fmt: skip
    plan = site.plan()
    assert {rid: s for rid, s in plan.statuses.items() if s == "would-purge"} == dict.fromkeys(strays, "would-purge")
    human = site.plan(json_report=False).stdout
    assert "would-purge    file:/etc/app/old.conf\n" in human
    assert (conf / "old.conf").exists()
    first = apply_twice(site)
    assert {rid: s for rid, s in first.statuses.items() if rid in strays} == dict.fromkeys(strays, "removed")
    assert sorted(p.name for p in conf.iterdir()) == ["a.conf", "current", "login.defs", "run.sh", "sub"]
    assert sorted(p.name for p in (conf / "sub").iterdir()) == ["b.conf", "keep.dpkg-old"]
    assert (outside / "precious").read_text() == "keep me\n"  # links were removed, never followed
    assert (conf / "login.defs").read_text() == "A\nB\n"
    assert in_bucket(site, b"stale\n") and in_bucket(site, b"nested stray\n")


def test_purge_keeps_what_other_types_own(site: Site) -> None:
    site.path("/etc/sysctl.d").mkdir(parents=True)
    site.path("/etc/sysctl.d/99-tend-vm.swappiness.conf").write_text("vm.swappiness = 10\n")
    site.path("/etc/sysctl.d/old.conf").write_text("x\n")
    manifest(
        site,
        "  - file: /etc/sysctl.d\n    ensure: directory\n    purge: true\n  - sysctl: vm.swappiness\n    value: 10\n",
    )
    first = site.apply()
    assert first.statuses == {"file:/etc/sysctl.d": "unchanged", "file:/etc/sysctl.d/old.conf": "removed",
                              "sysctl:vm.swappiness": "unchanged"}  # fmt: skip
    assert site.path("/etc/sysctl.d/99-tend-vm.swappiness.conf").exists()


def test_force_removes_a_non_empty_directory_and_replaces_one(site: Site) -> None:
    for name in ("gone", "was-dir", "was-dir-link"):
        (site.path(f"/srv/{name}") / "inner").mkdir(parents=True)
        (site.path(f"/srv/{name}") / "inner" / "data").write_text(f"{name} data\n")
    manifest(site, "  - file: /srv/gone\n    ensure: absent\n")
    refused = site.apply()
    assert refused.returncode == 4
    assert refused.result("file:/srv/gone")["error"] == (
        "manifests/tree.yaml:3: /srv/gone is a directory that is not empty: give force: true to remove it with its "
        "content (kept in the bucket)"
    )
    manifest(site, "  - file: /srv/was-dir\n    content: now a file\n")
    refused = site.apply()
    assert (
        "manifests/tree.yaml:2: a directory is in the way of file /srv/was-dir"
        in (refused.result("file:/srv/was-dir")["error"])
    )
    manifest(
        site,
        "  - file: /srv/gone\n    ensure: absent\n    force: true\n"
        "  - file: /srv/was-dir\n    content: now a file\n    force: true\n"
        "  - file: /srv/was-dir-link\n    target: /srv\n    force: true\n",
    )
    apply_twice(site)
    assert not site.path("/srv/gone").exists()
    assert site.path("/srv/was-dir").read_text() == "now a file"
    assert os.readlink(site.path("/srv/was-dir-link")) == "/srv"
    for name in ("gone", "was-dir", "was-dir-link"):
        assert in_bucket(site, f"{name} data\n".encode())


def test_an_empty_directory_goes_absent_without_force(site: Site) -> None:
    site.path("/srv/empty").mkdir(parents=True)
    manifest(site, "  - file: /srv/empty\n    ensure: absent\n")
    apply_twice(site)
    assert not site.path("/srv/empty").exists()


def test_replace_false_creates_but_never_rewrites(site: Site) -> None:
    site.path("/etc/kept.conf").parent.mkdir(parents=True, exist_ok=True)
    site.path("/etc/kept.conf").write_text("edited by hand\n")
    site.path("/etc/kept.conf").chmod(0o666)
    manifest(
        site,
        "  - file: /etc/kept.conf\n    content: seed\n    replace: false\n    mode: '0644'\n"
        "  - file: /etc/new.conf\n    content: seed\n    replace: false\n",
    )
    first = apply_twice(site)
    assert site.path("/etc/kept.conf").read_text() == "edited by hand\n"
    assert first.result("file:/etc/kept.conf")["changes"] == [{"property": "mode", "from": "0666", "to": "0644"}]
    assert site.path("/etc/new.conf").read_text() == "seed"


def test_tree_errors_name_the_file_and_line(site: Site) -> None:
    cases = {
        "  - file: /etc/x\n    content: y\n    purge: true\n":
            "manifests/tree.yaml:4: file:/etc/x: purge needs ensure: directory, not file",
        "  - file: /etc/x\n    ensure: directory\n    ignore: ['*']\n":
            "manifests/tree.yaml:4: file:/etc/x: ignore says what a purge keeps",
        "  - file: /etc/x\n    source: nowhere\n":
            "manifests/tree.yaml:3: file:/etc/x: source not found: no files/nowhere",
    }  # fmt: skip
    site.write({"files/dir/a": "a"})
    cases["  - file: /etc/x\n    source: dir\n    ensure: file\n"] = (
        "manifests/tree.yaml:3: file:/etc/x: source files/dir is a directory: it needs ensure: directory, not file"
    )
    for body, message in cases.items():
        manifest(site, body)
        run = site.apply(json_report=False)
        assert run.returncode == 1 and message in run.stderr, run.stderr

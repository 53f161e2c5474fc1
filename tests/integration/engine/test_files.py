"""The file type end to end: `tend apply` into a temporary root, then the real files checked, then a rerun."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from tests.integration.engine.conftest import Run, Site, needs_root, umask


def converge_twice(site: Site, *args: str) -> Run:
    """Apply (changes: exit 2), then apply again: nothing left to change (exit 0, every resource unchanged)."""
    first = site.apply(*args)
    assert first.returncode == 2, first.stdout + first.stderr
    assert first.report is not None and first.report["status"] == "changed"
    second = site.apply(*args)
    assert second.returncode == 0, second.stdout + second.stderr
    assert set(second.statuses.values()) == {"unchanged"}, second.statuses
    assert second.report is not None and all(r["changes"] == [] for r in second.report["resources"])
    return first


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_content_from_parameters_and_expressions(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [motd]\nmotd::message: hello from hiera\n",
            "manifests/motd.yaml": """
                parameters:
                  message: default
                  port: 80
                resources:
                  - file: /etc/motd
                    content: "Welcome: {{ message }}\\n"
                  - file: /etc/issue
                    content: "{{ message | upper }}"
                  - file: /etc/port
                    content: "port={{ port }}\\n\\n"
            """,
        }
    )
    site.path("/etc/motd").write_text("old\n")
    first = converge_twice(site)
    assert site.path("/etc/motd").read_bytes() == b"Welcome: hello from hiera\n"
    assert site.path("/etc/issue").read_bytes() == b"HELLO FROM HIERA"
    assert site.path("/etc/port").read_bytes() == b"port=80\n\n"
    assert first.result("file:/etc/motd")["changes"][0]["property"] == "content"
    assert first.result("file:/etc/issue")["changes"] == [{"property": "ensure", "from": "absent", "to": "file"}]
    # A new file without a mode gets 0644.
    assert mode_of(site.path("/etc/issue")) == 0o644


def test_trailing_newline_after_a_lone_expression_is_kept(site: Site) -> None:
    """`content: "{{ x }}\\n"` ends with a newline, whatever the type of x (§2)."""
    site.write(
        {
            "data/common.yaml": "classes: [motd]\nmotd::motd: hello\nmotd::port: 8080\n",
            "manifests/motd.yaml": """
                parameters:
                  motd: default
                  port: 80
                resources:
                  - file: /etc/motd
                    content: "{{ motd }}\\n"
                  - file: /etc/port
                    content: "{{ port }}\\n"
                  - file: /etc/spaced
                    content: "  {{ motd }}  "
            """,
        }
    )
    converge_twice(site)
    assert site.path("/etc/motd").read_bytes() == b"hello\n"
    assert site.path("/etc/port").read_bytes() == b"8080\n"
    assert site.path("/etc/spaced").read_bytes() == b"  hello  "


def test_templates_with_loops_parameters_lookup_and_facts(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": """
                classes: [web]
                web::vhosts:
                  - {name: shop, port: 8080}
                  - {name: blog, port: 8081}
                site::domain: example.org
            """,
            "data/nodes/web1.yaml": "web::workers: 8\n",
            "manifests/web.yaml": """
                parameters:
                  vhosts: []
                  workers: 1
                resources:
                  - file: /etc/web
                    ensure: directory
                  - file: /etc/web/web.conf
                    template: web/main.conf.j2
                  - file: "/etc/web/{{ item.name }}.conf"
                    loop: "{{ vhosts }}"
                    template: web/vhost.conf.j2
                  - file: /etc/web/db-only.conf
                    content: "only on db hosts"
                    when: "{{ facts.role == 'db' }}"
            """,
            "templates/web/main.conf.j2": """
                # {{ facts.hostname }} ({{ facts.role }})
                workers {{ workers }};
                {% for v in vhosts %}
                include {{ v.name }}.conf;
                {% endfor %}
            """,
            "templates/web/vhost.conf.j2": """
                server_name {{ item.name }}.{{ lookup('site::domain') }};
                listen {{ item.port }};
                tls {{ lookup('site::tls', default='off') }};
            """,
        }
    )
    first = converge_twice(site, "--host", "web1")
    assert site.path("/etc/web/web.conf").read_text() == (
        "# web1 (web)\nworkers 8;\ninclude shop.conf;\ninclude blog.conf;\n"
    )
    assert site.path("/etc/web/shop.conf").read_text() == ("server_name shop.example.org;\nlisten 8080;\ntls off;\n")
    assert site.path("/etc/web/blog.conf").read_text().startswith("server_name blog.example.org;\nlisten 8081;\n")
    # The directory comes first (implicit parent edge), the looped files in list order.
    assert list(first.statuses) == [
        "file:/etc/web",
        "file:/etc/web/web.conf",
        "file:/etc/web/shop.conf",
        "file:/etc/web/blog.conf",
    ]
    assert not site.path("/etc/web/db-only.conf").exists()


def test_source_copies_bytes_exactly(site: Site) -> None:
    payload = bytes(range(256)) + b"\x00no trailing newline"
    site.write(
        {
            "data/common.yaml": "classes: [blob]\n",
            "files/blob/data.bin": payload,
            "manifests/blob.yaml": """
                resources:
                  - file: /etc/data.bin
                    source: blob/data.bin
                    mode: "0600"
            """,
        }
    )
    converge_twice(site)
    assert site.path("/etc/data.bin").read_bytes() == payload
    assert mode_of(site.path("/etc/data.bin")) == 0o600


def test_directory_and_link(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [tree]\n",
            "manifests/tree.yaml": """
                resources:
                  - file: /srv/app
                    ensure: directory
                    mode: "0750"
                  - file: /srv/app/current
                    ensure: link
                    target: /srv/app/releases/1
                  - file: /srv/app/shared
                    target: ../shared
            """,
        }
    )
    site.path("/srv").mkdir()
    converge_twice(site)
    assert site.path("/srv/app").is_dir() and mode_of(site.path("/srv/app")) == 0o750
    assert os.readlink(site.path("/srv/app/current")) == "/srv/app/releases/1"
    assert os.readlink(site.path("/srv/app/shared")) == "../shared"


def test_link_replaces_a_file_and_a_wrong_target(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [links]\n",
            "manifests/links.yaml": """
                resources:
                  - file: /etc/a
                    ensure: link
                    target: /etc/target
                  - file: /etc/b
                    ensure: link
                    target: /etc/target
            """,
        }
    )
    site.path("/etc/a").write_text("a regular file\n")
    site.path("/etc/b").symlink_to("/elsewhere")
    first = converge_twice(site)
    assert first.result("file:/etc/b")["changes"] == [{"property": "target", "from": "/elsewhere", "to": "/etc/target"}]
    assert os.readlink(site.path("/etc/a")) == os.readlink(site.path("/etc/b")) == "/etc/target"
    # The replaced file's content went to the bucket.
    digest = hashlib.sha256(b"a regular file\n").hexdigest()
    assert (site.state / "bucket" / digest[:2] / digest).read_bytes() == b"a regular file\n"


def test_absent_removes_and_keeps_a_backup(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [cleanup]\n",
            "manifests/cleanup.yaml": """
                resources:
                  - file: /etc/old.conf
                    ensure: absent
                  - file: /etc/old-link
                    ensure: absent
                  - file: /etc/never-there
                    ensure: absent
            """,
        }
    )
    old = b"setting = 1\n"
    site.path("/etc/old.conf").write_bytes(old)
    site.path("/etc/old-link").symlink_to("/etc/passwd")
    first = site.apply()
    assert first.returncode == 2, first.stdout + first.stderr
    assert first.statuses == {
        "file:/etc/old.conf": "changed",
        "file:/etc/old-link": "changed",
        "file:/etc/never-there": "unchanged",
    }
    assert first.result("file:/etc/old.conf")["changes"] == [{"property": "ensure", "from": "file", "to": "absent"}]
    assert not os.path.lexists(site.path("/etc/old.conf")) and not os.path.lexists(site.path("/etc/old-link"))
    assert site.path("/etc/passwd").is_file()  # the link was removed, not its target
    digest = hashlib.sha256(old).hexdigest()
    backup = site.state / "bucket" / digest[:2] / digest
    assert backup.read_bytes() == old
    assert mode_of(site.state / "bucket") == 0o700
    second = site.apply()
    assert second.returncode == 0 and set(second.statuses.values()) == {"unchanged"}, second.statuses


def test_a_replaced_file_is_backed_up(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [motd]\n",
            "manifests/motd.yaml": "resources:\n  - file: /etc/motd\n    content: new\n",
        }
    )
    site.path("/etc/motd").write_bytes(b"previous content\n")
    converge_twice(site)
    digest = hashlib.sha256(b"previous content\n").hexdigest()
    assert (site.state / "bucket" / digest[:2] / digest).read_bytes() == b"previous content\n"


@pytest.mark.parametrize("mask", [0o022, 0o077], ids=["umask022", "umask077"])
def test_modes_are_set_exactly_whatever_the_umask(site: Site, mask: int) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [modes]\n",
            "manifests/modes.yaml": """
                resources:
                  - file: /etc/secret.conf
                    content: "x\\n"
                    mode: "0640"
                  - file: /etc/plain.conf
                    content: "y\\n"
                  - file: /etc/script
                    content: "#!/bin/sh\\n"
                    mode: "755"
                  - file: /etc/shared
                    ensure: directory
                    mode: "2775"
                  - file: /etc/default-dir
                    ensure: directory
            """,
        }
    )
    with umask(mask):
        converge_twice(site)
    assert mode_of(site.path("/etc/secret.conf")) == 0o640
    assert mode_of(site.path("/etc/plain.conf")) == 0o644
    assert mode_of(site.path("/etc/script")) == 0o755
    assert mode_of(site.path("/etc/shared")) == 0o2775
    assert mode_of(site.path("/etc/default-dir")) == 0o755


def test_mode_alone_is_fixed_in_place(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [modes]\n",
            "manifests/modes.yaml": """
                resources:
                  - file: /etc/app.conf
                    content: "same\\n"
                    mode: "0640"
            """,
        }
    )
    path = site.path("/etc/app.conf")
    path.write_text("same\n")
    path.chmod(0o666)
    inode = path.stat().st_ino
    first = converge_twice(site)
    assert first.result("file:/etc/app.conf")["changes"] == [{"property": "mode", "from": "0666", "to": "0640"}]
    assert mode_of(path) == 0o640 and path.stat().st_ino == inode  # chmod, not a rewrite
    assert not (site.state / "bucket").exists()  # nothing was replaced, nothing backed up


@needs_root
def test_owner_and_group_by_name_from_the_roots_own_accounts(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [owned]\n",
            "manifests/owned.yaml": """
                resources:
                  - file: /etc/daemon.conf
                    content: "d\\n"
                    owner: daemon
                    group: daemon
                    mode: "0640"
                  - file: /etc/root.conf
                    content: "r\\n"
                    owner: root
                    group: daemon
                  - file: /var/daemon
                    ensure: directory
                    owner: daemon
                    group: root
            """,
        }
    )
    site.path("/var").mkdir()
    site.path("/etc/root.conf").write_text("r\n")
    os.chown(site.path("/etc/root.conf"), 1, 1)
    first = converge_twice(site)
    assert first.result("file:/etc/root.conf")["changes"] == [{"property": "owner", "from": "daemon", "to": "root"}]
    for managed, ids in (("/etc/daemon.conf", (1, 1)), ("/etc/root.conf", (0, 1)), ("/var/daemon", (1, 0))):
        st = os.lstat(site.path(managed))
        assert (st.st_uid, st.st_gid) == ids, managed
    assert mode_of(site.path("/etc/daemon.conf")) == 0o640


@needs_root
def test_owner_and_group_by_id(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [owned]\n",
            "manifests/owned.yaml": """
                resources:
                  - file: /etc/by-id.conf
                    content: "i\\n"
                    owner: 1
                    group: 1
                  - file: /etc/unnamed-id.conf
                    content: "u\\n"
                    owner: 4242
                    group: 4343
            """,
        }
    )
    converge_twice(site)
    st = os.lstat(site.path("/etc/by-id.conf"))
    assert (st.st_uid, st.st_gid) == (1, 1)
    st = os.lstat(site.path("/etc/unnamed-id.conf"))
    assert (st.st_uid, st.st_gid) == (4242, 4343)


@needs_root
def test_an_unknown_owner_fails_that_resource_only(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [owned]\n",
            "manifests/owned.yaml": """
                resources:
                  - file: /etc/www.conf
                    content: "w\\n"
                    owner: www-data
                  - file: /etc/other.conf
                    content: "o\\n"
            """,
        }
    )
    run = site.apply()
    assert run.returncode == 6, run.stdout
    assert run.status("file:/etc/www.conf") == "failed"
    assert "unknown user 'www-data'" in run.result("file:/etc/www.conf")["error"]
    assert str(site.root) in run.result("file:/etc/www.conf")["error"]  # it looked in the root's /etc/passwd
    assert not site.path("/etc/www.conf").exists()
    assert site.path("/etc/other.conf").read_text() == "o\n"


@needs_root
def test_owner_as_a_numeric_string_is_idempotent(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [owned]\n",
            "manifests/owned.yaml": """
                resources:
                  - file: /etc/by-id.conf
                    content: "i\\n"
                    owner: "1"
                    group: "1"
            """,
        }
    )
    converge_twice(site)


@needs_root
def test_link_owner_is_applied(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [links]\n",
            "manifests/links.yaml": """
                resources:
                  - file: /etc/owned-link
                    target: /etc/passwd
                    owner: daemon
            """,
        }
    )
    converge_twice(site)
    assert os.lstat(site.path("/etc/owned-link")).st_uid == 1


def test_unmanaged_mode_of_a_rewritten_file_is_kept(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [conf]\n",
            "manifests/conf.yaml": """
                resources:
                  - file: /etc/private.conf
                    content: "new\\n"
                    backup: false
            """,
        }
    )
    path = site.path("/etc/private.conf")
    path.write_text("old\n")
    path.chmod(0o600)
    converge_twice(site)
    assert path.read_text() == "new\n" and mode_of(path) == 0o600
    assert not (site.state / "bucket").exists()  # backup: false


@needs_root
def test_unmanaged_owner_of_a_rewritten_file_is_kept(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [conf]\n",
            "manifests/conf.yaml": "resources:\n  - file: /etc/daemon.conf\n    content: new\n",
        }
    )
    path = site.path("/etc/daemon.conf")
    path.write_text("old\n")
    os.chown(path, 1, 1)
    converge_twice(site)
    st = os.lstat(path)
    assert (st.st_uid, st.st_gid) == (1, 1)


@needs_root
def test_unmanaged_mode_of_a_directory_is_kept_when_its_owner_is_fixed(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [dirs]\n",
            "manifests/dirs.yaml": "resources:\n  - file: /srv\n    ensure: directory\n    owner: daemon\n",
        }
    )
    site.path("/srv").mkdir()
    site.path("/srv").chmod(0o700)
    converge_twice(site)
    assert os.lstat(site.path("/srv")).st_uid == 1
    assert mode_of(site.path("/srv")) == 0o700


def test_a_missing_parent_directory_fails_with_advice(site: Site) -> None:
    site.write(
        {
            "data/common.yaml": "classes: [deep]\n",
            "manifests/deep.yaml": "resources:\n  - file: /opt/app/app.conf\n    content: x\n",
        }
    )
    run = site.apply()
    assert run.returncode == 4
    assert "parent directory /opt/app does not exist" in run.result("file:/opt/app/app.conf")["error"]

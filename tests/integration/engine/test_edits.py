"""Partial edits (line, block, ini) through the CLI into a temporary root: each attribute, the chain of edits
of one path in plan, line endings kept, the compile-time conflict, errors naming file and line."""

from __future__ import annotations

import hashlib
import os
import stat

import pytest

from tests.integration.engine.conftest import Site, apply_twice


def manifest(site: Site, body: str) -> None:
    site.write({"data/common.yaml": "classes: [edits]\n", "manifests/edits.yaml": "resources:\n" + body})


def put(site: Site, managed: str, data: bytes, mode: int = 0o644) -> None:
    path = site.path(managed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(mode)


def read(site: Site, managed: str) -> bytes:
    return site.path(managed).read_bytes()


def in_bucket(site: Site, data: bytes) -> bool:
    digest = hashlib.sha256(data).hexdigest()
    return (site.state / "bucket" / digest[:2] / digest).is_file()


# -- line ---------------------------------------------------------------------------------------------------


def test_line_replaces_the_match_appends_otherwise_and_keeps_the_old_file(site: Site) -> None:
    old = b"PASS_MAX_DAYS 99999\nUMASK 022\n"
    put(site, "/etc/login.defs", old, 0o640)
    manifest(
        site,
        "  - line: UMASK 027\n    path: /etc/login.defs\n    match: ^UMASK\n"
        "  - line: ENCRYPT_METHOD SHA512\n    path: /etc/login.defs\n",
    )
    first = apply_twice(site)
    assert read(site, "/etc/login.defs") == b"PASS_MAX_DAYS 99999\nUMASK 027\nENCRYPT_METHOD SHA512\n"
    assert first.result("line:UMASK 027")["changes"] == [{"property": "text", "from": "UMASK 022", "to": "UMASK 027"}]
    assert first.result("line:ENCRYPT_METHOD SHA512")["changes"] == [
        {"property": "ensure", "from": "absent", "to": "present"}
    ]
    assert stat.S_IMODE(os.stat(site.path("/etc/login.defs")).st_mode) == 0o640  # the mode it had is kept
    assert in_bucket(site, old)


def test_an_exact_line_already_present_is_no_change(site: Site) -> None:
    put(site, "/etc/limits.conf", b"* soft nofile 1024\n* soft nofile 4096\n")
    manifest(site, "  - line: '* soft nofile 4096'\n    path: /etc/limits.conf\n    match: nofile\n")
    run = site.apply()
    assert run.returncode == 0 and run.status("line:* soft nofile 4096") == "unchanged", run.stdout
    assert read(site, "/etc/limits.conf") == b"* soft nofile 1024\n* soft nofile 4096\n"


@pytest.mark.parametrize(
    ("multiple", "expected"),
    [(False, b"opt=new\nkeep\nopt=2\nopt=3\n"), (True, b"opt=new\nkeep\nopt=new\nopt=new\n")],
    ids=["first", "multiple"],
)
def test_a_regex_matching_several_lines(site: Site, multiple: bool, expected: bytes) -> None:
    put(site, "/etc/app.conf", b"opt=1\nkeep\nopt=2\nopt=3\n")
    flag = str(multiple).lower()
    manifest(site, f"  - line: opt=new\n    path: /etc/app.conf\n    match: ^opt=\n    multiple: {flag}\n")
    apply_twice(site)
    assert read(site, "/etc/app.conf") == expected


def test_after_before_and_create(site: Site) -> None:
    put(site, "/etc/hosts.allow", b"# header\nALL: LOCAL\n# footer\n")
    manifest(
        site,
        "  - line: 'sshd: 10.0.0.0/8'\n    path: /etc/hosts.allow\n    insert_after: ^# header\n"
        "  - line: 'ntpd: ALL'\n    path: /etc/hosts.allow\n    insert_before: ^# footer\n"
        "  - line: 'new: file'\n    path: /etc/new.conf\n    create: true\n    mode: '0640'\n",
    )
    apply_twice(site)
    assert read(site, "/etc/hosts.allow") == b"# header\nsshd: 10.0.0.0/8\nALL: LOCAL\nntpd: ALL\n# footer\n"
    assert read(site, "/etc/new.conf") == b"new: file\n"
    assert stat.S_IMODE(os.stat(site.path("/etc/new.conf")).st_mode) == 0o640


def test_absent_removes_every_line_equal_or_matching(site: Site) -> None:
    put(site, "/etc/a.conf", b"x\ndebug=1\ny\ndebug=2\nx\n")
    manifest(
        site,
        "  - line: drop-x\n    text: x\n    path: /etc/a.conf\n    ensure: absent\n"
        "  - line: no-debug\n    path: /etc/a.conf\n    match: ^debug=\n    ensure: absent\n"
        "  - line: gone\n    path: /etc/missing.conf\n    ensure: absent\n",
    )
    first = apply_twice(site)
    assert read(site, "/etc/a.conf") == b"y\n"
    assert first.status("line:gone") == "unchanged"


def test_crlf_and_no_trailing_newline_are_kept(site: Site) -> None:
    put(site, "/etc/win.ini", b"a=1\r\nb=2\r\n")
    put(site, "/etc/bare", b"first\nlast")
    manifest(
        site,
        "  - line: b=3\n    path: /etc/win.ini\n    match: ^b=\n"
        "  - line: c=4\n    path: /etc/win.ini\n"
        "  - line: added\n    path: /etc/bare\n"
        "  - ini: bare-setting\n    path: /etc/win.ini\n    section: s\n    setting: k\n    value: v\n"
        "  - block: bare-block\n    path: /etc/bare\n    content: inside\n",
    )
    apply_twice(site)
    assert read(site, "/etc/win.ini") == b"a=1\r\nb=3\r\nc=4\r\n\r\n[s]\r\nk = v\r\n"
    assert read(site, "/etc/bare") == b"first\nlast\nadded\n# BEGIN tend: bare-block\ninside\n# END tend: bare-block"


def test_missing_target_fails_with_file_and_line(site: Site) -> None:
    manifest(site, "  - line: UMASK 027\n    path: /etc/login.defs\n")
    run = site.apply()
    assert run.returncode == 4, run.stdout
    error = run.result("line:UMASK 027")["error"]
    assert error == "manifests/edits.yaml:3: /etc/login.defs does not exist (give create: true to create it)"
    assert not site.path("/etc/login.defs").exists()


# -- several edits of one path ------------------------------------------------------------------------------


def test_plan_chains_the_edits_of_one_path_in_declaration_order(site: Site) -> None:
    put(site, "/etc/sshd_config", b"Port 22\nPermitRootLogin yes\n")
    manifest(
        site,
        "  - line: PermitRootLogin no\n    path: /etc/sshd_config\n    match: ^PermitRootLogin\n"
        "  - block: ciphers\n    path: /etc/sshd_config\n    content: Ciphers aes256-gcm@openssh.com\n"
        "  - line: PasswordAuthentication no\n    path: /etc/sshd_config\n",
    )
    plan = site.plan(json_report=False)
    assert plan.returncode == 2, plan.stderr
    text = plan.stdout
    # The block's diff starts from the first line's result, the last line's from the block's.
    assert "-PermitRootLogin yes\n    +PermitRootLogin no\n" in text
    assert "     PermitRootLogin no\n    +# BEGIN tend: ciphers\n" in text
    assert "     # END tend: ciphers\n    +PasswordAuthentication no\n" in text
    assert read(site, "/etc/sshd_config") == b"Port 22\nPermitRootLogin yes\n"
    apply_twice(site)
    assert read(site, "/etc/sshd_config") == (
        b"Port 22\nPermitRootLogin no\n# BEGIN tend: ciphers\nCiphers aes256-gcm@openssh.com\n"
        b"# END tend: ciphers\nPasswordAuthentication no\n"
    )


def test_an_edit_of_a_path_a_file_manages_wholly_is_a_compile_error_naming_both(site: Site) -> None:
    manifest(
        site,
        "  - file: /etc/motd\n    content: hello\n  - line: extra\n    path: /etc/motd\n",
    )
    run = site.apply(json_report=False)
    assert run.returncode == 1
    assert "manifests/edits.yaml:4: line:extra: edits /etc/motd, whose whole content file:/etc/motd manages " in (
        run.stderr
    )
    assert "(manifests/edits.yaml:2)" in run.stderr


def test_an_edit_requires_its_file_and_directory_when_declared(site: Site) -> None:
    manifest(
        site,
        "  - line: key=1\n    path: /etc/app/app.conf\n    create: true\n"
        "  - file: /etc/app/app.conf\n    mode: '0600'\n"
        "  - file: /etc/app\n    ensure: directory\n",
    )
    run = apply_twice(site)
    ids = [r["id"] for r in run.report["resources"]]
    assert ids == ["file:/etc/app", "file:/etc/app/app.conf", "line:key=1"]
    assert read(site, "/etc/app/app.conf") == b"key=1\n"


def test_a_duplicate_line_suggests_a_title(site: Site) -> None:
    put(site, "/etc/a", b"")
    manifest(site, "  - line: UMASK 027\n    path: /etc/a\n  - line: UMASK 027\n    path: /etc/login.defs\n")
    run = site.apply(json_report=False)
    assert run.returncode == 1
    assert "manifests/edits.yaml:4: line:UMASK 027: declared twice: also at manifests/edits.yaml:2" in run.stderr
    assert '`- line: "login.defs: UMASK 027"` with `text: "UMASK 027"`' in run.stderr


# -- block ---------------------------------------------------------------------------------------------------


def test_block_is_updated_in_place_never_duplicated_then_removed(site: Site) -> None:
    put(site, "/etc/profile", b"top\nbottom\n")
    body = "content: 'export A=1\n\n      export B=2'"
    manifest(site, f"  - block: proxy\n    path: /etc/profile\n    insert_after: ^top\n    {body}\n")
    apply_twice(site)
    block = b"# BEGIN tend: proxy\nexport A=1\nexport B=2\n# END tend: proxy\n"
    assert read(site, "/etc/profile") == b"top\n" + block + b"bottom\n"
    manifest(site, "  - block: proxy\n    path: /etc/profile\n    marker: '## {mark} proxy'\n    content: x\n")
    put(site, "/etc/profile", b"top\n## BEGIN proxy\nold\n## END proxy\nbottom\n")
    first = apply_twice(site)
    assert read(site, "/etc/profile") == b"top\n## BEGIN proxy\nx\n## END proxy\nbottom\n"
    assert first.result("block:proxy")["changes"] == [{"property": "content", "from": "old\n", "to": "x\n"}]
    manifest(site, "  - block: proxy\n    path: /etc/profile\n    marker: '## {mark} proxy'\n    ensure: absent\n")
    apply_twice(site)
    assert read(site, "/etc/profile") == b"top\nbottom\n"


# -- ini ----------------------------------------------------------------------------------------------------

JOURNALD = b"""\
#  This file is part of systemd.
[Journal]
#Storage=auto
Compress=yes
# trailing comment

[Other]
Storage=keep
"""


def test_ini_sets_adds_and_removes_leaving_the_rest(site: Site) -> None:
    put(site, "/etc/systemd/journald.conf", JOURNALD)
    put(site, "/etc/php.ini", b"; php\nengine = On\n\n[Date]\ndate.timezone = UTC\n")
    manifest(
        site,
        "  - ini: storage\n    path: /etc/systemd/journald.conf\n    section: Journal\n    setting: Storage\n"
        "    value: persistent\n    separator: '='\n"
        "  - ini: compress\n    path: /etc/systemd/journald.conf\n    section: Journal\n    setting: Compress\n"
        "    value: false\n    separator: '='\n"
        "  - ini: engine\n    path: /etc/php.ini\n    setting: engine\n    value: 'Off'\n"
        "  - ini: memory\n    path: /etc/php.ini\n    setting: memory_limit\n    value: 256M\n"
        "  - ini: tz\n    path: /etc/php.ini\n    section: Date\n    setting: date.timezone\n    ensure: absent\n"
        "  - ini: new\n    path: /etc/php.ini\n    section: Session\n    setting: name\n    value: SID\n",
    )
    first = apply_twice(site)
    assert read(site, "/etc/systemd/journald.conf") == JOURNALD.replace(
        b"Compress=yes\n# trailing comment\n", b"Compress=false\n# trailing comment\nStorage=persistent\n"
    )
    assert read(site, "/etc/php.ini") == (
        b"; php\nengine = Off\nmemory_limit = 256M\n\n[Date]\n\n[Session]\nname = SID\n"
    )
    assert first.result("ini:engine")["changes"] == [{"property": "value", "from": "On", "to": "Off"}]


@pytest.mark.parametrize(
    ("body", "message"),
    [("  - ini: x\n    path: /etc/a.ini\n    setting: k\n",
      "manifests/edits.yaml:2: ini:x: 'value' is required (unless ensure: absent)"),
     ("  - ini: x\n    path: /etc/a.ini\n    setting: k\n    value: 'a\n\n      b'\n",
      "manifests/edits.yaml:5: ini:x: 'value' must be one line (no line breaks)"),
     ("  - line: x\n    path: etc/a\n",
      "manifests/edits.yaml:3: line:x: the path 'etc/a' must be absolute"),
     ("  - line: x\n    path: /etc/a\n    match: '(('\n",
      "manifests/edits.yaml:4: line:x: '((' is not a regular expression"),
     ("  - line: x\n    path: /etc/a\n    insert_after: a\n    insert_before: b\n",
      "manifests/edits.yaml:5: line:x: give insert_after or insert_before, not both"),
     ("  - block: x\n    path: /etc/a\n    content: c\n    marker: '# x'\n",
      "manifests/edits.yaml:5: block:x: marker '# x' must hold {mark}"),
     ("  - block: x\n    path: /etc/a\n",
      "manifests/edits.yaml:2: block:x: 'content' is required (unless ensure: absent)"),
     ("  - line: x\n    path: /etc/a\n    mode: 644\n",
      "manifests/edits.yaml:4: line:x: 'mode' must be a string")],
)  # fmt: skip
def test_errors_name_the_file_and_line(site: Site, body: str, message: str) -> None:
    manifest(site, body)
    run = site.apply(json_report=False)
    assert run.returncode == 1 and message in run.stderr, run.stderr


def test_an_unterminated_block_fails_and_changes_nothing(site: Site) -> None:
    put(site, "/etc/profile", b"# BEGIN tend: proxy\nleft over\n")
    manifest(site, "  - block: proxy\n    path: /etc/profile\n    content: x\n")
    run = site.apply()
    assert run.returncode == 4
    assert run.result("block:proxy")["error"].startswith("manifests/edits.yaml:2: /etc/profile line 1 opens the block")
    assert read(site, "/etc/profile") == b"# BEGIN tend: proxy\nleft over\n"

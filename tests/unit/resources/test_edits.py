"""Partial edits against the fake host: the text model (line endings kept), and line, block and ini chained
through one edit buffer, as `plan` chains them."""

from __future__ import annotations

import pytest

from agent.providers.edit_buffer import EditBuffer
from agent.providers.options import ProviderOptions
from agent.resources.block import Block
from agent.resources.edits import Text
from agent.resources.ini import Ini
from agent.resources.line import Line
from tests.unit.fakes import FakeSystem, converge, declare


@pytest.mark.parametrize(
    "data", [b"", b"a\n", b"a\r\nb\r\n", b"a\nb", b"a\r\nb", b"only", b"\xff\xfe bytes\n", b"a\r", b"\n\n"]
)
def test_text_renders_what_it_parsed(data: bytes) -> None:
    assert Text(data).render() == data


@pytest.mark.parametrize(
    ("data", "expected"),
    [(b"", b"new\n"), (b"a", b"a\nnew"), (b"a\r\n", b"a\r\nnew\r\n"), (b"a\r\nb", b"a\r\nb\r\nnew")],
)
def test_a_new_line_takes_the_files_ending_and_keeps_a_missing_final_newline(data: bytes, expected: bytes) -> None:
    text = Text(data)
    text.insert(len(text.lines), ["new"])
    assert text.render() == expected


def buffer(system: FakeSystem) -> EditBuffer:
    return EditBuffer(system, ProviderOptions(), lambda text: None)


def test_plan_chains_edits_of_one_path_without_writing() -> None:
    system = FakeSystem(files={"/etc/app.ini": "[main]\nport = 1\n"})
    shared = buffer(system)
    first = declare(Ini, "port", path="/etc/app.ini", section="main", setting="port", value=2)
    second = declare(Line, "# managed", path="/etc/app.ini", insert_before=r"^\[main\]")
    for edit in (first, second):
        edit.changes(edit.desired(), edit.current(system, shared))
    assert second.diff_text(system) is not None and "-[main]" not in second.diff_text(system)
    assert second._planned == (b"[main]\nport = 2\n", b"# managed\n[main]\nport = 2\n")
    assert system.text("/etc/app.ini") == "[main]\nport = 1\n"  # noop wrote nothing


def test_apply_writes_each_edit_and_the_disk_wins_afterwards() -> None:
    system = FakeSystem(files={"/etc/a": "x=1\n"})
    shared = buffer(system)
    assert converge(declare(Line, "x=2", path="/etc/a", match="^x="), system, shared) == [("text", "x=1", "x=2")]
    assert converge(declare(Block, "b", path="/etc/a", content="in"), system, shared)[0][0] == "ensure"
    assert system.text("/etc/a") == "x=2\n# BEGIN tend: b\nin\n# END tend: b\n"
    assert system.backups == [b"x=1\n", b"x=2\n"]
    system.put("/etc/a", "changed by hand\n")
    assert shared.read("/etc/a").content == b"changed by hand\n"


def test_ini_before_any_section_and_a_separator_of_blanks() -> None:
    system = FakeSystem(files={"/etc/c": "# top\nname old value\n[s]\nname other\n"})
    shared = buffer(system)
    converge(declare(Ini, "n", path="/etc/c", setting="name", value="new", separator=" "), system, shared)
    converge(declare(Ini, "m", path="/etc/c", section="", setting="more", value="1"), system, shared)
    assert system.text("/etc/c") == "# top\nname new\nmore = 1\n[s]\nname other\n"


def test_a_secret_refuses_a_file_others_can_read_unless_mode_is_given() -> None:
    from agent.errors import HostError
    from agent.secrets.secret import Secret

    system = FakeSystem(files={"/etc/p": "a\n"})
    secret = Secret("hunter2", key="k", file="f")
    line = declare(Line, "pw", path="/etc/p", text=secret)
    line.tainted, line.sensitive = frozenset({"text"}), True
    with pytest.raises(HostError, match="which group or others can read"):
        line.current(system, buffer(system))
    given = declare(Line, "pw", path="/etc/p", text=secret, mode="0600")
    given.tainted, given.sensitive = frozenset({"text"}), True
    assert converge(given, system, buffer(system)) == [("ensure", "absent", "present")]
    assert system.text("/etc/p") == "a\nhunter2\n" and system.modes[system.resolve("/etc/p")] == 0o600


def test_dropped_edits_record_what_finds_them_and_never_a_secret_value() -> None:
    assert declare(Block, "proxy", path="/etc/profile", content="export a=1\n").undo() == {
        "path": "/etc/profile", "marker": "# {mark} tend: proxy", "ensure": "absent",
    }  # fmt: skip
    assert declare(Ini, "storage", path="/etc/j.conf", section="Journal", setting="Storage", value="x").undo() == {
        "path": "/etc/j.conf", "section": "Journal", "setting": "Storage", "separator": " = ", "ensure": "absent",
    }  # fmt: skip
    assert declare(Line, "UMASK 027", path="/etc/login.defs").undo() == {
        "path": "/etc/login.defs", "text": "UMASK 027", "ensure": "absent",
    }  # fmt: skip
    matched = declare(Line, "umask", path="/etc/login.defs", text="UMASK 027", match="^UMASK")
    assert matched.undo() == {"path": "/etc/login.defs", "match": "^UMASK", "ensure": "absent"}
    secret = declare(Line, "db password", path="/etc/app.conf", text="password = s3cret")
    secret.tainted = frozenset({"text"})
    assert secret.undo() is None  # nothing finds it without keeping the secret
    secret_matched = declare(Line, "db", path="/etc/app.conf", text="password = s3cret", match="^password =")
    secret_matched.tainted = frozenset({"text"})
    assert secret_matched.undo() == {"path": "/etc/app.conf", "match": "^password =", "ensure": "absent"}

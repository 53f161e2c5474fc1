import os
import time
from pathlib import Path

import pytest

from agent.errors import HostError
from agent.system.commands import DEFAULT_ENV, run

from .conftest import needs_root, python_child


def test_output_status_and_input():
    r = run(["sh", "-c", "cat; echo err >&2; exit 3"], input=b"in put", timeout=10)
    assert (r.returncode, r.stdout, r.stderr, r.timed_out) == (3, b"in put", b"err\n", False)
    assert r.argv == ("sh", "-c", "cat; echo err >&2; exit 3")
    assert 0 <= r.duration_s < 5


def test_no_shell_is_involved():
    assert run(["echo", "$HOME", "a;b", "*"], timeout=10).stdout == b"$HOME a;b *\n"


def test_env_is_the_complete_environment(monkeypatch):
    monkeypatch.setenv("TEND_TEST_INHERITED", "leak")
    assert run(["/usr/bin/env"], env={"ONLY": "1"}, timeout=10).stdout == b"ONLY=1\n"
    default = run(["env"], timeout=10).stdout.decode().splitlines()
    assert sorted(default) == sorted(f"{k}={v}" for k, v in DEFAULT_ENV.items())


def test_cwd(tmp_path):
    assert run(["pwd"], cwd=str(tmp_path), timeout=10).stdout.decode().strip() == str(tmp_path)
    with pytest.raises(HostError, match="no such directory"):
        run(["pwd"], cwd=str(tmp_path / "missing"), timeout=10)


def test_missing_command():
    with pytest.raises(HostError) as err:
        run(["tend-no-such-command", "--flag"], timeout=10)
    assert str(err.value) == "tend-no-such-command: command not found: tend-no-such-command"
    with pytest.raises(HostError, match="command not found: /nonexistent/tool"):
        run(["/nonexistent/tool"], timeout=10)


def test_not_executable(tmp_path):
    (tmp_path / "script").write_text("#!/bin/sh\n")
    with pytest.raises(HostError, match="permission denied"):
        run([str(tmp_path / "script")], timeout=10)


def _gone(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return True
    return fields[0] in ("Z", "X")


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + 3
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return _gone(pid)


def test_timeout_kills_the_whole_group(tmp_path):
    pidfile = tmp_path / "bg.pid"
    started = time.monotonic()
    r = run(["sh", "-c", f"sleep 100 & echo $! > {pidfile}; echo partial; sleep 100"], timeout=0.5)
    assert time.monotonic() - started < 3
    assert r.timed_out and not r.ok
    assert r.stdout == b"partial\n"
    assert _wait_gone(int(pidfile.read_text()))


def test_timeout_escalates_to_sigkill_when_sigterm_is_ignored():
    started = time.monotonic()
    r = run(["sh", "-c", "trap '' TERM; sleep 100; sleep 100"], timeout=0.3)
    elapsed = time.monotonic() - started
    assert r.timed_out
    assert r.returncode == -9
    assert 2 <= elapsed < 5


def test_user_and_chroot_need_root():
    code = (
        "import os\n"
        "from agent.errors import HostError\n"
        "from agent.system.commands import run\n"
        "from pathlib import Path\n"
        "if os.geteuid() == 0:\n"
        "    os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
        "for kw in ({'user': 'root'}, {'chroot': Path('/')}):\n"
        "    try:\n"
        "        run(['true'], timeout=5, **kw)\n"
        "    except HostError as e:\n"
        "        print(e)\n"
    )
    proc = python_child(code, stdout=-1, stderr=-1)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out.splitlines() == ["true: switching to user 'root' needs root", "true: running inside / needs root"]


@needs_root
def test_user_switches_uid_gid_and_groups():
    r = run(["id", "-u", "-n"], user="nobody", timeout=10).check()
    assert r.stdout == b"nobody\n"
    ids = run(["sh", "-c", "id -u; id -g; id -G"], user="65534", timeout=10).stdout.decode().split("\n")
    assert ids[:2] == ["65534", str(os.getgrouplist("nobody", 65534)[0])]
    with pytest.raises(HostError, match="unknown user 'tend-nobody-here'"):
        run(["true"], user="tend-nobody-here", timeout=10)


@needs_root
def test_chroot_runs_inside_the_root(mini_root):
    (mini_root / "hello").write_bytes(b"inside")
    assert run(["/bin/cat", "/hello"], chroot=mini_root, timeout=10).stdout == b"inside"
    (mini_root / "srv").mkdir()
    (mini_root / "srv/rel").write_bytes(b"relative")
    assert run(["/bin/cat", "rel"], chroot=mini_root, cwd="/srv", timeout=10).stdout == b"relative"
    with pytest.raises(HostError, match=f"command not found: /bin/ls \\(inside {mini_root}\\)"):
        run(["/bin/ls"], chroot=mini_root, timeout=10)


@needs_root
def test_chroot_with_a_user_of_the_root(mini_root):
    (mini_root / "etc").mkdir()
    (mini_root / "etc/passwd").write_text("root:x:0:0::/:/bin/sh\ntester:x:4242:4343::/:/bin/sh\n")
    (mini_root / "etc/group").write_text("tester:x:4343:\nextra:x:4444:tester\n")
    (mini_root / "out").mkdir(mode=0o777)
    os.chmod(mini_root / "out", 0o777)
    run(["/bin/touch", "/out/made"], user="tester", chroot=mini_root, timeout=10).check()
    st = (mini_root / "out/made").stat()
    assert (st.st_uid, st.st_gid) == (4242, 4343)
    with pytest.raises(HostError, match=f"unknown user 'nobody' \\(not in {mini_root}/etc/passwd\\)"):
        run(["/bin/true"], user="nobody", chroot=mini_root, timeout=10)

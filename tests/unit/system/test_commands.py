import pytest

from agent.errors import HostError
from agent.system.commands import CommandResult, run


def result(**kw) -> CommandResult:
    values = {"argv": ("apt-get", "install", "x"), "returncode": 0, "stdout": b"", "stderr": b""}
    return CommandResult(**(values | {"duration_s": 0.1} | kw))


def test_repr_shows_argv_and_returncode_only():
    r = result(stdout=b"s3cret-out", stderr=b"s3cret-err", returncode=3)
    assert repr(r) == "CommandResult(argv=('apt-get', 'install', 'x'), returncode=3)"


def test_ok_and_check():
    assert result().ok
    assert result().check() == result()
    assert not result(returncode=1).ok
    assert not result(timed_out=True, returncode=-15).ok


def test_failure_names_status_and_stderr_tail():
    r = result(returncode=100, stderr=b"Reading...\n\nE: Unable to locate package x\n")
    assert r.failure() == "exited with status 100: Reading...; E: Unable to locate package x"
    with pytest.raises(HostError) as err:
        r.check()
    assert str(err.value).startswith("apt-get install x: exited with status 100: ")


def test_failure_for_signals_and_timeouts():
    assert result(returncode=-9).failure() == "killed by SIGKILL"
    assert result(returncode=-15, timed_out=True, duration_s=30.2).failure() == "timed out after 30 s"


def test_a_single_string_is_refused():
    with pytest.raises(TypeError, match="not one string"):
        run("ls -l", timeout=1)
    with pytest.raises(ValueError, match="empty"):
        run([], timeout=1)

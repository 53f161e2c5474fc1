import errno

import pytest

from agent.system._oserror import host_error, reason


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "no space left on device"),
        (errno.EROFS, "read-only file system"),
        (errno.EACCES, "permission denied"),
    ],
)
def test_reason_words(code, words):
    assert reason(OSError(code, "ignored")) == words


def test_host_error_names_subject_and_cause():
    err = host_error("write", "/etc/motd", OSError(errno.ENOSPC, "x"))
    assert str(err) == "/etc/motd: cannot write: no space left on device"
    assert err.subject == "/etc/motd"

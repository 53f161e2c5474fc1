import os
from pathlib import Path

import pytest

from agent.errors import HostError
from agent.system.accounts import Accounts
from agent.system.paths import Root


@pytest.fixture
def accounts(tmp_path: Path) -> Accounts:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0::/root:/bin/sh\ndeploy:x:1001:1002::/home/deploy:/bin/sh\n")
    (tmp_path / "etc/group").write_text("root:x:0:\nweb:x:1002:\nops:x:1500:deploy\n")
    return Accounts(Root(tmp_path))


def test_names_and_ids(accounts):
    assert accounts.uid_of("deploy") == 1001
    assert accounts.gid_of("web") == 1002
    assert accounts.user_name(1001) == "deploy"
    assert accounts.group_name(1500) == "ops"
    assert accounts.supplementary_gids("deploy", 1002) == [1002, 1500]


def test_numeric_strings_are_ids(accounts):
    assert accounts.uid_of("4242") == 4242
    assert accounts.gid_of("0") == 0


def test_unknown_ids_have_no_name(accounts):
    assert accounts.user_name(4242) is None
    assert accounts.group_name(4242) is None


def test_unknown_names_name_the_root_file(accounts):
    root = accounts.root.path
    with pytest.raises(HostError) as err:
        accounts.uid_of("www-data")
    assert str(err.value) == f"www-data: unknown user 'www-data' (not in {root}/etc/passwd)"
    with pytest.raises(HostError, match=f"unknown group 'wheel' \\(not in {root}/etc/group\\)"):
        accounts.gid_of("wheel")


def test_the_host_passwd_is_not_consulted_under_a_root(accounts):
    with pytest.raises(HostError):
        accounts.uid_of("nobody")
    assert accounts.user_name(65534) is None


def test_a_user_created_during_the_run_is_seen(accounts):
    passwd = accounts.root.path / "etc/passwd"
    assert accounts.uid_of("deploy") == 1001
    passwd.write_text(passwd.read_text() + "app:x:2000:2000::/:/bin/sh\n")
    os.utime(passwd, ns=(1, 1))
    assert accounts.uid_of("app") == 2000


def test_a_root_without_files_knows_nobody(tmp_path):
    with pytest.raises(HostError, match="unknown user 'root'"):
        Accounts(Root(tmp_path)).uid_of("root")


def test_host_lookups():
    host = Accounts(Root(Path("/")))
    assert host.uid_of("root") == 0
    assert host.user_name(0) == "root"
    assert host.group_name(0) == "root"

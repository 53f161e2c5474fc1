import pytest

from agent.errors import HostError
from agent.system.accounts import Group, User, parse_group, parse_passwd

PASSWD = """\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin

+nisuser::::::
broken:x:notanumber:1:x:/:/bin/sh
short:x:5
deploy:x:1001:1001:Deploy,,,:/home/deploy:/bin/bash:extra
"""

GROUP = """\
root:x:0:
adm:x:4:syslog,deploy
# comment
www-data:x:33:
-nisgroup
bad:x:abc:deploy
sudo:x:27:deploy
"""


def test_parse_passwd_keeps_valid_entries_in_order():
    assert parse_passwd(PASSWD) == [
        User("root", 0, 0, "/root", "/bin/bash", "root"),
        User("daemon", 1, 1, "/usr/sbin", "/usr/sbin/nologin", "daemon"),
        User("www-data", 33, 33, "/var/www", "/usr/sbin/nologin", "www-data"),
        User("deploy", 1001, 1001, "/home/deploy", "/bin/bash", "Deploy,,,"),
    ]


def test_parse_group_reads_members():
    assert parse_group(GROUP) == [
        Group("root", 0, ()),
        Group("adm", 4, ("syslog", "deploy")),
        Group("www-data", 33, ()),
        Group("sudo", 27, ("deploy",)),
    ]


def test_parse_empty_text():
    assert parse_passwd("") == []
    assert parse_group("\n\n") == []


def test_parse_passwd_without_trailing_newline():
    assert parse_passwd("a:x:7:8::/h:/bin/sh") == [User("a", 7, 8, "/h", "/bin/sh")]


def test_a_shadow_line_gets_its_password_and_keeps_the_rest():
    from agent.system.accounts import shadow_hash, with_password

    text = "root:*:19000:0:99999:7:::\napp:!:19000:0:99999:7:::\n"
    assert shadow_hash(text, "app") == "!" and shadow_hash(text, "nobody") is None
    assert with_password(text, "app", "$y$j9T$s$h") == "root:*:19000:0:99999:7:::\napp:$y$j9T$s$h:19000:0:99999:7:::\n"
    with pytest.raises(HostError, match="user 'nobody' has no line in the shadow file"):
        with_password(text, "nobody", "$y$x")

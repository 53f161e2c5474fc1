"""Taint follows a secret through loop items, `when` and every string a template builds; a plaintext that
escaped taint anyway is caught by the last line of defence (DESIGN §8.8)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from agent.catalog.compile import Compiler
from agent.data.encrypted import EncryptedValue
from agent.errors import ManifestError
from agent.secrets.secret import Secret, placeholder

HIERA = "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n  - name: c\n    path: c.yaml\n"
PLAIN = "hunter2-do-not-print"
DATA = "classes: [site]\nsite::password: ENC[GPG,aGVsbG8=]\nsite::user: app\n"


def host_secret(value: EncryptedValue) -> Secret:
    return Secret(PLAIN, key=value.key, file=value.file)


def check_placeholder(value: EncryptedValue) -> Secret:
    return placeholder(value.file, value.key)


def compile_site(tmp_path: Path, resources: str, reader=host_secret, data: str = DATA):
    (tmp_path / "data").mkdir(exist_ok=True)
    (tmp_path / "manifests").mkdir(exist_ok=True)
    (tmp_path / "hiera.yaml").write_text(HIERA)
    (tmp_path / "data/c.yaml").write_text(data)
    manifest = "parameters:\n  password: null\n  user: nobody\nresources:\n" + textwrap.indent(
        textwrap.dedent(resources), "  "
    )
    (tmp_path / "manifests/site.yaml").write_text(manifest)
    catalog, _ = Compiler(tmp_path, secrets=reader).compile({"hostname": "h"})
    return catalog


LOOP_FILE = """\
- file: /etc/app.cred
  loop: [{cred: "app:{{ password }}"}]
  content: "{{ item.cred }}\\n"
"""


def test_a_loop_item_built_from_a_secret_stays_a_secret(tmp_path: Path) -> None:
    catalog = compile_site(tmp_path, LOOP_FILE)
    resource = catalog.resources["file:/etc/app.cred"]
    assert resource.sensitive and "content" in resource.tainted
    assert resource.desired()["mode"] == "0600"
    assert isinstance(resource.values["content"], Secret)
    assert resource.values["content"].reveal() == f"app:{PLAIN}\n"


def test_a_loop_item_taints_a_string_attribute_built_from_it(tmp_path: Path) -> None:
    catalog = compile_site(
        tmp_path,
        """\
        - exec: use-cred
          loop: [{cred: "app:{{ password }}"}]
          command: [/bin/true]
          environment: {CRED: "x-{{ item.cred }}"}
        """,
    )
    resource = catalog.resources["exec:use-cred"]
    assert resource.sensitive and "environment" in resource.tainted


def test_a_loop_item_built_from_a_secret_never_reaches_argv(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as raised:
        compile_site(
            tmp_path,
            """\
            - exec: use-cred
              loop: [{cred: "app:{{ password }}"}]
              command: [/usr/bin/login-tool, "{{ item.cred }}"]
            """,
        )
    assert "'command' may not be computed from a secret" in str(raised.value)
    assert PLAIN not in str(raised.value)


@pytest.mark.parametrize("reader", [host_secret, check_placeholder], ids=["secret", "placeholder"])
@pytest.mark.parametrize(
    "declaration",
    [
        '- file: "/etc/{{ item.cred }}"\n  loop: [{cred: "app-{{ password }}"}]\n  content: x\n',
        '- file: "/etc/x-{{ password }}"\n  content: x\n',
        '- file: "{{ password }}"\n  content: x\n',
    ],
    ids=["loop", "string", "native"],
)
def test_a_title_from_a_secret_is_refused_without_showing_it(tmp_path: Path, reader, declaration: str) -> None:
    with pytest.raises(ManifestError) as raised:
        compile_site(tmp_path, declaration, reader=reader)
    message = str(raised.value)
    assert "the title may not be computed from a secret" in message
    assert message.startswith("manifests/site.yaml:")
    assert PLAIN not in message and "<secret" not in message and "<redacted>" not in message
    assert f"file:{declaration.split(': ', 1)[1].split(chr(10))[0].strip(chr(34))}" in message


def test_a_when_computed_from_a_secret_taints_the_resource(tmp_path: Path) -> None:
    catalog = compile_site(tmp_path, '- file: /etc/flag\n  content: x\n  when: "{{ password }}"\n')
    assert catalog.resources["file:/etc/flag"].sensitive


def test_a_when_computed_from_a_loop_secret_taints_the_resource(tmp_path: Path) -> None:
    catalog = compile_site(
        tmp_path, '- file: /etc/flag\n  loop: [{flag: "{{ password }}"}]\n  content: x\n  when: "{{ item.flag }}"\n'
    )
    assert catalog.resources["file:/etc/flag"].sensitive


def test_a_plain_loop_stays_plain(tmp_path: Path) -> None:
    catalog = compile_site(tmp_path, '- file: "/etc/{{ item }}"\n  loop: ["{{ user }}", b]\n  content: "{{ item }}"\n')
    assert not catalog.resources["file:/etc/app"].sensitive
    assert catalog.resources["file:/etc/app"].values["content"] == "app"


# -- the last line of defence -----------------------------------------------------------------------------


def test_a_plaintext_that_escaped_taint_is_redacted_and_warned(tmp_path: Path) -> None:
    # The data repeats the plaintext in a clear value: taint cannot know, the defence does.
    data = DATA + f"site::copy: {PLAIN}\n"
    catalog = compile_site(
        tmp_path,
        """\
        - file: /etc/leak
          content: "{{ lookup('site::copy') }} {{ password }}"
          mode: "0640"
        - file: /etc/copy
          content: "{{ lookup('site::copy') }}\\n"
          mode: "0644"
        """,
        data=data,
    )
    copy = catalog.resources["file:/etc/copy"]
    assert copy.sensitive and copy.desired()["mode"] == "0644"
    warned = [w for w in catalog.warnings if "file:/etc/copy" in w]
    assert warned and all(PLAIN not in w for w in catalog.warnings)
    assert "plaintext of a secret" in warned[0]


def test_a_plaintext_in_a_file_without_a_mode_is_an_error(tmp_path: Path) -> None:
    data = DATA + f"site::copy: {PLAIN}\n"
    with pytest.raises(ManifestError) as raised:
        compile_site(
            tmp_path,
            "- file: /etc/copy\n  content: \"{{ lookup('site::copy') }} {{ password }}\"\n"
            "- file: /etc/open\n  content: \"{{ lookup('site::copy') }}\"\n",
            data=data,
        )
    message = str(raised.value)
    assert "file:/etc/open" in message and "mode" in message and PLAIN not in message


def test_a_plaintext_in_argv_is_refused(tmp_path: Path) -> None:
    data = DATA + f"site::copy: {PLAIN}\n"
    with pytest.raises(ManifestError) as raised:
        compile_site(
            tmp_path,
            '- exec: x\n  command: [/bin/echo, "{{ lookup(\'site::copy\') }}"]\n  environment: {P: "{{ password }}"}\n',
            data=data,
        )
    assert "'command' may not be computed from a secret" in str(raised.value)
    assert PLAIN not in str(raised.value)


def test_a_plaintext_in_a_title_is_refused(tmp_path: Path) -> None:
    data = DATA + f"site::copy: {PLAIN}\n"
    with pytest.raises(ManifestError) as raised:
        compile_site(
            tmp_path,
            '- file: "/etc/{{ lookup(\'site::copy\') }}"\n  content: "{{ password }}"\n',
            data=data,
        )
    assert "the title may not be computed from a secret" in str(raised.value)
    assert PLAIN not in str(raised.value)


def test_short_plaintexts_are_not_hunted(tmp_path: Path) -> None:
    def short(value: EncryptedValue) -> Secret:
        return Secret("app", key=value.key, file=value.file)

    catalog = compile_site(tmp_path, '- file: "/etc/{{ user }}"\n  content: "{{ password }}"\n', reader=short)
    assert "file:/etc/app" in catalog.resources and not catalog.warnings

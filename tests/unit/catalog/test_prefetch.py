"""The three-step compile: an opaque compile finds the values the catalog uses, the reader gets them all at once,
then the real compile asks for each in order; one compile only when there is nothing to fetch ahead."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent.catalog.compile import Compiler
from agent.catalog.prefetch import compile_prefetching
from agent.data.encrypted import EncryptedValue
from agent.secrets.secret import Secret

HIERA = "version: 5\ndefaults: {datadir: data, data_hash: yaml_data}\nhierarchy:\n  - name: c\n    path: c.yaml\n"
DATA = "classes: [site]\nsite::a: ENC[GPG,YQ==]\nsite::b: ENC[GPG,Yg==]\nsite::spare: ENC[GPG,Yw==]\n"
MANIFEST = """\
parameters:
  a: null
resources:
  - file: /etc/a
    content: "{{ a }}"
  - file: /etc/b
    content: "{{ lookup('site::b') }}"
  - file: /etc/a-again
    content: "{{ lookup('site::a') }}"
"""


class Recorder:
    """A reader that says what it was asked: values fetched ahead, and values asked for during a compile."""

    def __init__(self) -> None:
        self.prefetched: list[tuple[list[str], int]] = []
        self.asked: list[str] = []
        self.settled = 0

    def __call__(self, value: EncryptedValue) -> Secret:
        self.asked.append(value.key)
        return Secret(f"plain {value.key}", key=value.key, file=value.file)

    def prefetch(self, values: Sequence[EncryptedValue], jobs: int) -> None:
        self.prefetched.append(([v.key for v in values], jobs))

    def settle(self) -> None:
        self.settled += 1


def site(tmp_path: Path, manifest: str = MANIFEST) -> Path:
    for folder in ("data", "manifests"):
        (tmp_path / folder).mkdir(exist_ok=True)
    (tmp_path / "hiera.yaml").write_text(HIERA)
    (tmp_path / "data/c.yaml").write_text(DATA)
    (tmp_path / "manifests/site.yaml").write_text(manifest)
    return tmp_path


def test_the_values_used_are_fetched_ahead_then_asked_for_in_order(tmp_path: Path) -> None:
    reader = Recorder()
    compiler = Compiler(site(tmp_path), secrets=reader)
    catalog, _ = compile_prefetching(compiler, reader, {"hostname": "h"}, "h", jobs=2)
    assert reader.prefetched == [(["site::a", "site::b", "site::a"], 2)]  # never site::spare
    assert reader.asked == ["site::a", "site::b", "site::a"]
    assert reader.settled == 1
    assert catalog.resources["file:/etc/b"].values["content"].reveal() == "plain site::b"
    assert compiler.plaintexts == {"plain site::a", "plain site::b"}  # no placeholder hunted as a plaintext


def test_one_job_is_the_lazy_compile_alone(tmp_path: Path) -> None:
    reader = Recorder()
    compile_prefetching(Compiler(site(tmp_path), secrets=reader), reader, {"hostname": "h"}, "h", jobs=1)
    assert reader.prefetched == []
    assert reader.asked == ["site::a", "site::b", "site::a"]


def test_a_catalog_without_secrets_is_compiled_once(tmp_path: Path) -> None:
    reader = Recorder()
    manifest = 'resources:\n  - file: /etc/plain\n    content: "no secret here"\n'
    compiler = Compiler(site(tmp_path, manifest), secrets=reader)
    catalog, _ = compile_prefetching(compiler, reader, {"hostname": "h"}, "h", jobs=4)
    assert list(catalog.resources) == ["file:/etc/plain"]
    assert reader.prefetched == [] and reader.asked == [] and reader.settled == 0

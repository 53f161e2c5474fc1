"""The three-step compile: an opaque compile finds the values the catalog uses, the reader gets them all at once,
then the real compile asks for each in order; one compile only when there is nothing to fetch ahead. With the
compile cache, what the opaque compile found is kept (never a plaintext) and a hit skips that compile."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agent.catalog.cache import CompileCache
from agent.catalog.cached import compile_cached
from agent.catalog.compile import Compiler
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


class Counting(Compiler):
    """A compiler that counts its compiles (its siblings' included)."""

    calls: list[str]

    def compile(self, facts: Mapping[str, Any], host: str | None = None) -> Any:
        self.calls.append(type(self.secrets).__name__)
        return super().compile(facts, host)


def compile_prefetching(compiler: Compiler, reader: Recorder, facts: dict, host: str, *, jobs: int) -> Any:
    """The run's compile without a cache."""
    return compile_cached(lambda: compiler, reader, facts, host, jobs=jobs, cache=CompileCache(None), key=lambda: None)


def site(tmp_path: Path, manifest: str = MANIFEST) -> Path:
    for folder in ("data", "manifests"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
    (tmp_path / "hiera.yaml").write_text(HIERA)
    (tmp_path / "data/c.yaml").write_text(DATA)
    (tmp_path / "manifests/site.yaml").write_text(manifest)
    return tmp_path


def test_the_values_used_are_fetched_ahead_then_asked_for_in_order(tmp_path: Path) -> None:
    reader = Recorder()
    compiler = Compiler(site(tmp_path), secrets=reader)
    catalog, plaintexts = compile_prefetching(compiler, reader, {"hostname": "h"}, "h", jobs=2)
    assert reader.prefetched == [(["site::a", "site::b", "site::a"], 2)]  # never site::spare
    assert reader.asked == ["site::a", "site::b", "site::a"]
    assert reader.settled == 1
    assert catalog.resources["file:/etc/b"].values["content"].reveal() == "plain site::b"
    assert plaintexts == {"plain site::a", "plain site::b"}  # no placeholder hunted as a plaintext


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


def test_a_cached_opaque_compile_is_skipped_and_the_real_one_reads_as_before(tmp_path: Path) -> None:
    cache, root = CompileCache(tmp_path / "cache"), site(tmp_path / "repo")
    runs = []
    for _ in range(2):
        reader = Recorder()
        compiler = Counting(root, secrets=reader)
        compiler.calls = []
        catalog, plaintexts = compile_cached(
            lambda c=compiler: c, reader, {"hostname": "h", "uptime": len(runs)}, "h", jobs=2, cache=cache,
            key=lambda: "k" * 64,
        )  # fmt: skip
        runs.append((compiler.calls, reader.prefetched, reader.asked, plaintexts))
        assert catalog.resources["file:/etc/b"].values["content"].reveal() == "plain site::b"
    assert runs[0][0] == ["Opaque", "Recorder"] and runs[1][0] == ["Recorder"]
    assert runs[0][1:] == runs[1][1:]
    (entry,) = (tmp_path / "cache").iterdir()
    assert b"plain" not in entry.read_bytes() and b"ENC[GPG,Yg==]" in entry.read_bytes()


def test_a_catalog_without_secrets_is_served_whole(tmp_path: Path) -> None:
    cache = CompileCache(tmp_path / "cache")
    root = site(tmp_path / "repo", 'resources:\n  - file: /etc/plain\n    content: "{{ facts.role }}"\n')
    calls = []
    for role in ("web", "web", "db"):
        compiler = Counting(root, secrets=Recorder())
        compiler.calls = []
        catalog, _ = compile_cached(
            lambda c=compiler: c, Recorder(), {"hostname": "h", "role": role}, "h", jobs=2, cache=cache,
            key=lambda: "k" * 64,
        )  # fmt: skip
        calls.append(len(compiler.calls))
        assert catalog.resources["file:/etc/plain"].values["content"] == role
    assert calls == [1, 0, 1]

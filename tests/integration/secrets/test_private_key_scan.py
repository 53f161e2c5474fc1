"""Where the private-key scan looks (DESIGN §8.7): a bundle whole, a git checkout as git would commit it,
any other tree whole; files of any size. Real keys from gpg, real git."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from agent.errors import SecretError
from agent.secrets.repo_keys import find_private_keys, refuse_private_keys
from tests.integration.secrets.conftest import NO_PASSPHRASE, Gpg, GpgKey

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


@pytest.fixture(scope="module")
def secret_key(gpg: Gpg, keys: dict[str, GpgKey]) -> bytes:
    return gpg(*NO_PASSPHRASE, "--armor", "--export-secret-keys", keys["web1"].fingerprint)


@pytest.fixture(scope="module")
def binary_secret_key(gpg: Gpg, keys: dict[str, GpgKey]) -> bytes:
    return gpg(*NO_PASSPHRASE, "--export-secret-keys", keys["db1"].fingerprint)


def tree(base: Path, files: dict[str, bytes]) -> Path:
    (base / "hiera.yaml").write_text("version: 5\n")
    for relative, content in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return base


def git(repo: Path, *args: str) -> None:
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(repo), "PATH": "/usr/bin:/bin"}
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env, timeout=60)


def checkout(base: Path, files: dict[str, bytes], *, tracked: list[str]) -> Path:
    repo = tree(base, files)
    git(repo, "init", "-q")
    git(repo, "add", "-f", "hiera.yaml", *tracked)
    return repo


def test_a_key_in_a_bundles_pycache_is_found(tmp_path: Path, secret_key: bytes) -> None:
    bundle = tree(tmp_path, {"__pycache__/x.cpython-311.pyc": secret_key, ".venv/lib/key": secret_key})
    assert find_private_keys(bundle, bundle=True) == [".venv/lib/key", "__pycache__/x.cpython-311.pyc"]
    with pytest.raises(SecretError) as raised:
        refuse_private_keys(bundle, bundle=True)
    assert str(raised.value).startswith(".venv/lib/key: private-key material")


def test_a_bundle_is_scanned_whole_even_with_a_git_folder(tmp_path: Path, secret_key: bytes) -> None:
    # A bundle never asks git: its own .git/info/exclude would hide the key.
    bundle = checkout(tmp_path, {".git/info/exclude": b"*\n", "hidden.key": secret_key}, tracked=[])
    assert find_private_keys(bundle, bundle=True) == ["hidden.key"]


def test_any_other_tree_is_scanned_whole(tmp_path: Path, secret_key: bytes, binary_secret_key: bytes) -> None:
    plain = tree(tmp_path, {".venv/lib/site.key": secret_key, "files/__pycache__/db1.gpg": binary_secret_key})
    assert find_private_keys(plain) == [".venv/lib/site.key", "files/__pycache__/db1.gpg"]


def test_in_a_checkout_an_ignored_venv_is_not_scanned(tmp_path: Path, secret_key: bytes) -> None:
    repo = checkout(tmp_path, {".gitignore": b".venv/\n", ".venv/lib/test-fixture.key": secret_key}, tracked=[])
    assert find_private_keys(repo) == []


def test_in_a_checkout_untracked_not_ignored_and_tracked_ignored_files_are_scanned(
    tmp_path: Path, secret_key: bytes
) -> None:
    files = {".gitignore": b"*.key\n", "notes/untracked.txt": secret_key, "forced.key": secret_key}
    repo = checkout(tmp_path, {**files, "ignored.key": secret_key}, tracked=["forced.key"])
    assert find_private_keys(repo) == ["forced.key", "notes/untracked.txt"]


def test_a_key_at_the_end_of_a_5_mib_file_is_found(tmp_path: Path, secret_key: bytes) -> None:
    filler = b"# generated, do not edit\n" * (5 * (1 << 20) // 25)
    repo = tree(tmp_path, {"files/big.sql": filler + secret_key, "files/clean.sql": filler})
    assert find_private_keys(repo) == ["files/big.sql"]
    assert find_private_keys(repo, bundle=True) == ["files/big.sql"]


def test_a_bundle_store_reads_a_bundle_once_for_its_digest_and_the_scan(
    tmp_path: Path, secret_key: bytes, binary_secret_key: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.bundles.store import BundleRecord, BundleStore
    from agent.secrets.packets import contains_private_key

    commit = "c" * 40
    store = BundleStore(tmp_path / "bundles", scan=contains_private_key)
    store.directory.mkdir()
    files = {"keys/hosts/web1.asc": secret_key, "files/blob": binary_secret_key, "files/plain": b"x" * 5000}
    store.path(commit).mkdir()
    tree(store.path(commit), files)
    digest = store.tree_digest(commit)
    store.save_record(BundleRecord(commit, "F" * 40, "2026-01-01T00:00:00+00:00", sequence=1, tree=digest))
    assert store.flagged(commit) == sorted(find_private_keys(store.path(commit), bundle=True))
    assert store.flagged(commit) == ["files/blob", "keys/hosts/web1.asc"]
    reads: list[Path] = []
    real = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: (reads.append(self), real(self))[1])
    assert store.intact(commit) and store.intact(commit)
    assert not [path for path in reads if path.is_relative_to(store.path(commit))]
    assert BundleStore(store.directory).flagged(commit) is None  # another store has not read it

"""`tend pull`: fetch the configured branch, verify its tip's signature, check it out, switch atomically."""

from __future__ import annotations

import io
import shutil
import tarfile
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from agent.bundles.git import git
from agent.bundles.signature import read_object, split_signed_commit, verify_commit
from agent.bundles.store import BundleRecord, BundleStore
from agent.errors import BundleError, CommitRefused, ConfigError, HostError
from agent.location import Location
from agent.secrets.gpg import GnuPG
from agent.settings import AgentSettings

DEFAULT_BRANCH = "main"
RELEASE_TAGS = "+refs/tags/tend/*:refs/tags/tend/*"  # the pipeline's release tags, verified where read


class Gate(Protocol):
    """Chooses the commit this host deploys from the fetched branch tip (the pipeline's stage order), or
    raises CommitRefused."""

    def choose(self, store: BundleStore, tip: str) -> str: ...


@dataclass(frozen=True, slots=True)
class Pulled:
    record: BundleRecord
    changed: bool
    note: str = ""  # what was repaired on the way (a bundle missing or damaged on disk)


def pull(
    settings: AgentSettings,
    *,
    allow_older: str | None = None,
    gate: Gate | None = None,
    store: BundleStore | None = None,
) -> Pulled:
    """Deploy the signed tip of the configured branch (or the commit `gate` chooses from it); a refused
    commit leaves `current` as it was.

    `allow_older`: the commit an admin's rollback asks for, which need not descend from the current one.
    `store`: the caller's, so that what it learnt of a bundle's tree is not read again.
    """
    source = settings.source
    url, branch = source.get("git"), source.get("branch", DEFAULT_BRANCH)
    if not url:
        where = Location(str(settings.config_file or "/etc/tend/agent.yaml"))
        hint = "give source: {git: URL, trusted_signers: [FINGERPRINT]}"
        raise ConfigError(f"no source.git: nothing to pull ({hint})", location=where)
    store = store or BundleStore(settings.state.bundles)
    store.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    store.clean_leftovers()  # callers hold the run lock: nothing else is pulling
    if not (store.mirror / "HEAD").is_file():
        git(["init", "--quiet", "--bare", str(store.mirror)])
    git(
        ["fetch", "--quiet", "--force", "--no-tags", "--prune", *_local_transport(str(url)), str(url),
         f"+refs/heads/{branch}:refs/tend/{branch}", RELEASE_TAGS],
        git_dir=store.mirror,
    )  # fmt: skip
    tip = git(["rev-parse", f"refs/tend/{branch}^{{commit}}"], git_dir=store.mirror).stdout.decode().strip()
    commit = allow_older or (gate.choose(store, tip) if gate is not None else tip)
    trusted = list(source.get("trusted_signers") or [])
    keyring = GnuPG(settings.state.gnupg)
    try:
        signature = verify_commit(store.mirror, commit, trusted, keyring)
    except BundleError as error:
        if not trusted:
            raise
        raise CommitRefused(error.message, commit=commit) from None
    finally:
        keyring.release()
    if source.get("bind_branch"):
        check_branch_binding(store, commit, branch)
    current = store.deployed_commit()
    if current == commit and store.record(commit) is not None:
        return _redeploy(store, commit)
    if current and allow_older is None and not _descends(store, current, commit):
        raise CommitRefused(
            f"refusing commit {commit[:12]}: it does not descend from the deployed {current[:12]} "
            "(a replayed older commit?); an admin can go back with `tend rollback --to`",
            commit=commit,
        )
    known = store.record(commit)
    if known is not None and known.bad and allow_older is None:
        raise CommitRefused(
            f"refusing commit {commit[:12]}: {known.reason or 'marked bad'}; waiting for a newer commit", commit=commit
        )
    note = ""
    if known is not None and not store.intact(commit):
        note = f"bundle {commit[:12]} was missing or damaged on disk: checked out again"
        shutil.rmtree(store.path(commit), ignore_errors=True)
    _checkout(store, commit)
    record = BundleRecord(
        commit, signature.signer, _now(), sequence=store.next_sequence(), tree=store.tree_digest(commit)
    )
    store.save_record(record)
    store.switch(commit)
    store.prune()
    return Pulled(record, changed=True, note=note)


def _redeploy(store: BundleStore, commit: str) -> Pulled:
    """The deployed commit again: checked out again when its folder is missing or damaged, and `current`
    pointed at it (a pull killed between recording the commit and switching the link left it behind)."""
    note = ""
    if not store.intact(commit):
        restore(store, commit)
        note = f"bundle {commit[:12]} was missing or damaged on disk: checked out again"
    if store.current_commit() != commit:
        store.switch(commit)
    record = store.record(commit)
    assert record is not None  # pull() redeploys only a commit it has a record of
    return Pulled(record, changed=False, note=note)


def check_branch_binding(store: BundleStore, commit: str, branch: str) -> None:
    """With `bind_branch`: the signed message must carry a `Tend-Branch:` trailer naming `branch`, so that
    a commit signed for another branch cannot be served as this one (DESIGN §8.5)."""
    payload, _ = split_signed_commit(read_object(store.mirror, commit, "commit"))
    message = payload.partition(b"\n\n")[2]
    parsed = git(["interpret-trailers", "--parse"], git_dir=store.mirror, input=message).stdout.decode(errors="replace")
    named = [value.strip() for key, _, value in (line.partition(":") for line in parsed.splitlines())
             if key.strip().lower() == "tend-branch"]  # fmt: skip
    if branch in named:
        return
    if not named:
        raise CommitRefused(
            f"refusing commit {commit[:12]}: source.bind_branch is on and its signed message has no "
            f"Tend-Branch trailer (add 'Tend-Branch: {branch}' to the commit message)",
            commit=commit,
        )
    raise CommitRefused(
        f"refusing commit {commit[:12]}: it was signed for Tend-Branch: {', '.join(named)}, not {branch} "
        "(source.bind_branch is on)",
        commit=commit,
    )


def restore(store: BundleStore, commit: str) -> BundleRecord:
    """Check a known commit out again from the mirror (its signature was verified when it was pulled)."""
    record = store.record(commit)
    if record is None or not (store.mirror / "HEAD").is_file():
        raise BundleError(f"bundle {commit[:12]} cannot be restored: no record of it, or no mirror")
    shutil.rmtree(store.path(commit), ignore_errors=True)
    _checkout(store, commit)
    restored = replace(record, tree=store.tree_digest(commit))
    store.save_record(restored)
    return restored


def _local_transport(url: str) -> list[str]:
    """A repository on this machine may belong to another user (an admin's checkout, a bind mount):
    git's ownership check would refuse it, and no user config is read, so the local upload-pack is told
    to trust it. Integrity comes from the signature check, not from who owns the files."""
    if "://" in url and not url.startswith("file://"):
        return []
    if "://" not in url and ":" in url.split("/", 1)[0]:  # scp-like ssh: host:path
        return []
    return ["--upload-pack=git -c safe.directory='*' upload-pack"]


def _descends(store: BundleStore, ancestor: str, commit: str) -> bool:
    return git(["merge-base", "--is-ancestor", ancestor, commit], git_dir=store.mirror, check=False).returncode == 0


def _checkout(store: BundleStore, commit: str) -> None:
    """Extract the commit's tree into bundles/<sha>/ through a temporary folder and a rename."""
    target = store.path(commit)
    if (target / "hiera.yaml").is_file():
        return
    staging = store.directory / f".staging-{commit}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o755)
    try:
        archive = git(["archive", "--format=tar", commit], git_dir=store.mirror).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            _extract(tar, staging)
    except tarfile.TarError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise CommitRefused(
            f"refusing commit {commit[:12]}: unsafe or unreadable tree ({error})", commit=commit
        ) from None
    except OSError as error:  # a full disk, say: the host's fault, not the commit's (§8.2)
        shutil.rmtree(staging, ignore_errors=True)
        raise HostError(f"cannot check out {commit[:12]} into {store.directory}: {error.strerror or error}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)


def _extract(tar: tarfile.TarFile, destination: Path) -> None:
    """Extract refusing paths that leave the destination (Python's "data" filter where it exists)."""
    if hasattr(tarfile, "data_filter"):
        tar.extractall(destination, filter="data")
        return
    for member in tar.getmembers():
        name, link = Path(member.name), Path(member.linkname)
        unsafe_link = (member.islnk() or member.issym()) and (link.is_absolute() or ".." in link.parts)
        plain = member.isfile() or member.isdir() or member.issym() or member.islnk()
        if name.is_absolute() or ".." in name.parts or unsafe_link or not plain:
            raise tarfile.TarError(f"unsafe path {member.name}")
    tar.extractall(destination)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def bundle_root(settings: AgentSettings) -> Path | None:
    commit = BundleStore(settings.state.bundles).current_commit()
    return settings.state.bundles / commit if commit else None

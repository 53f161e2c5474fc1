"""state.json: each resource's desired-state digest and last result (drift), and refreshes still owed."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from agent.errors import HostError
from agent.system import files

STATE_VERSION = 1


class RunState:
    """What the previous runs left: read at the start, written atomically as the run goes.

    Digests are keyed (HMAC) with a per-host key kept next to the state (0600), so a digest of a
    desired state that holds a secret says nothing about the secret to whoever reads state.json.
    """

    def __init__(self, path: Path, key_path: Path):
        self.path = path
        self.key_path = key_path
        self.resources: dict[str, dict[str, Any]] = {}
        self.owed: dict[str, list[str]] = {}
        self._key: bytes | None = None

    @classmethod
    def load(cls, path: Path, *, read_only: bool = False) -> RunState:
        """`read_only` (noop): nothing is written, not even a first key; drift is then judged with the
        existing key, or not at all when there is none yet."""
        state = cls(path, path.with_name("state.key"))
        state.read_only = read_only
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return state
        except (OSError, ValueError) as error:
            # A damaged state file costs drift detection for one run, never the run itself.
            state.damaged = f"{path}: {error}"
            return state
        if isinstance(data, dict) and data.get("version") == STATE_VERSION:
            state.resources = data.get("resources") or {}
            state.owed = data.get("owed_refresh") or {}
        return state

    damaged: str | None = None
    read_only: bool = False

    def digest(self, desired: dict[str, Any]) -> str:
        # Desired states are flat dicts of strings, numbers, booleans and None: repr is canonical for them.
        text = repr(sorted(desired.items())).encode()
        return hmac.new(self._secret_key(), text, hashlib.sha256).hexdigest()

    def _secret_key(self) -> bytes:
        if self._key is None:
            try:
                self._key = self.key_path.read_bytes()
            except FileNotFoundError:
                if self.read_only:
                    self._key = os.urandom(32)
                    return self._key
                self.key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                files.write_atomic(self.key_path, os.urandom(32), mode=0o600)
                self._key = self.key_path.read_bytes()
        return self._key

    def drifted(self, rid: str, digest: str, out_of_sync: bool) -> bool:
        """Changed behind tend's back: same desired state as last run, in sync then, out of sync now."""
        last = self.resources.get(rid)
        return bool(
            out_of_sync and last and last.get("desired") == digest and last.get("status") in ("unchanged", "changed")
        )

    def record(self, rid: str, digest: str, status: str, at: str) -> None:
        self.resources[rid] = {"desired": digest, "status": status, "at": at}

    def owe(self, targets: list[str], source: str) -> None:
        for target in targets:
            sources = self.owed.setdefault(target, [])
            if source not in sources:
                sources.append(source)

    def settle(self, target: str) -> None:
        self.owed.pop(target, None)

    def save(self) -> None:
        data = {"version": STATE_VERSION, "resources": self.resources, "owed_refresh": self.owed}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as error:
            raise HostError(
                f"cannot create the state directory: {error.strerror}", subject=str(self.path.parent)
            ) from None
        files.write_atomic(self.path, json.dumps(data, sort_keys=True).encode(), mode=0o600)

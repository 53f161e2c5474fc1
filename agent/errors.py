"""The error tree: every error a user can cause derives from TendError; cli/ turns them into messages."""

from __future__ import annotations

from agent.location import Location


class TendError(Exception):
    """An error with a message fit for a user, and where it happened when known.

    str() reads `file:line: subject: message`, leaving out the parts that are unknown.
    """

    def __init__(self, message: str, *, location: Location | None = None, subject: str | None = None):
        super().__init__(message)
        self.message = message
        self.location = location
        self.subject = subject

    def __str__(self) -> str:
        parts = [str(p) for p in (self.location, self.subject) if p]
        return ": ".join([*parts, self.message])


class ConfigError(TendError):
    """A configuration file (hiera.yaml, agent.yaml, inventory) is malformed."""


class DataError(TendError):
    """A data file cannot be read or parsed."""


class InterpolationError(DataError):
    """A `%{...}` expression is malformed, unknown, recursive or names a missing variable."""


class MergeError(DataError):
    """Values found for a key cannot be merged with the requested strategy."""


class NotFound(TendError):
    """A lookup found no value."""

    def __init__(self, key: str):
        super().__init__(f"did not find a value for '{key}'")
        self.key = key


class FactsError(TendError):
    """Facts cannot be gathered or a fact override is malformed."""


class ManifestError(TendError):
    """A manifest or resource declaration is invalid."""


class SecretError(TendError):
    """An encrypted value is malformed, not addressed to this host, or cannot be decrypted."""


class SecretNotForHost(SecretError):
    """A value of the commit is not encrypted for this host, which holds its key: the commit's fault (§8.2)."""


class BundleError(TendError):
    """A pulled commit is refused: unsigned, signed by an untrusted key, replayed, marked bad or unsafe."""


class CommitRefused(BundleError):
    """This host will not deploy a commit, for now or for good; `commit` names it (None: no candidate yet).

    During `tend run` the host keeps its bundle and the run's exit code is that bundle's converge.
    """

    def __init__(self, message: str, *, commit: str | None, location: Location | None = None):
        super().__init__(message, location=location)
        self.commit = commit


class HostError(TendError):
    """An operation on the host (a command, a file write) failed."""


class LockError(TendError):
    """Another run holds the lock."""

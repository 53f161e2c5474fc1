"""debconf answers for packages: preseeded with `debconf-set-selections`, the answers on its stdin only.

Under `--root DIR` debconf runs on the host with `DPKG_ROOT=DIR`, which makes it read DIR's own
debconf.conf and write DIR's own database (`DIR/var/cache/debconf/*.dat`), the one the root's
maintainer scripts read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from agent.errors import HostError
from agent.secrets.secret import Secret
from agent.system import Host
from agent.system.commands import DEFAULT_ENV

TYPES = ("string", "password", "boolean", "select", "multiselect", "note", "text", "title")
TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class Answer:
    """One debconf answer: the package that owns the question, its type, and the value (maybe a secret)."""

    owner: str
    question: str
    type: str
    value: str | Secret


def selections(answers: list[Answer]) -> bytes:
    """debconf-set-selections input; a value on more than one line is refused without being shown."""
    lines = []
    for answer in answers:
        value = answer.value.reveal() if isinstance(answer.value, Secret) else answer.value
        if "\n" in value or "\r" in value:
            raise HostError(f"debconf: the answer to {answer.question} must be one line")
        lines.append(f"{answer.owner} {answer.question} {answer.type} {value}")
    return ("\n".join(lines) + "\n").encode()


def preseed(system: Host, answers: list[Answer]) -> None:
    """Set the answers before the packages are installed (their config and postinst scripts read them)."""
    if not answers:
        return
    if not system.has_command("debconf-set-selections"):
        raise HostError("debconf answers need debconf-set-selections (package debconf), which is not installed")
    env: Mapping[str, str] = DEFAULT_ENV
    if not system.root.is_host:
        env = {**DEFAULT_ENV, "DPKG_ROOT": str(system.root.path)}
    result = system.run(["debconf-set-selections"], input=selections(answers), env=env, timeout=TIMEOUT_S)
    if not result.ok:
        # debconf quotes a line it cannot parse: every line that holds an answer is left out.
        values = [a.value.reveal() if isinstance(a.value, Secret) else a.value for a in answers]
        text = result.stderr.decode(errors="replace")
        lines = [line for line in text.splitlines() if line.strip() and not any(v and v in line for v in values)]
        raise HostError("debconf-set-selections failed: " + ("; ".join(lines[-3:]) or result.failure()))

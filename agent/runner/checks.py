"""Smoke checks after a converge that changed something: http, tcp, command, process."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.catalog.checks import Check
from agent.errors import TendError
from agent.system import System

DEFAULT_TIMEOUT = 5.0


@dataclass(slots=True)
class CheckResult:
    kind: str
    target: str
    status: str  # "passed" or "failed"
    detail: str = ""
    location: str = ""
    duration_ms: float = field(default=0.0)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "status": self.status, "detail": self.detail,
                "location": self.location, "duration_ms": round(self.duration_ms, 1)}  # fmt: skip


def run_checks(checks: list[Check], system: System, sleep: Callable[[float], None] = time.sleep) -> list[CheckResult]:
    return [_run(check, system, sleep) for check in checks]


def _run(check: Check, system: System, sleep: Callable[[float], None]) -> CheckResult:
    retries = max(int(check.options.get("retries", 3)), 0)
    delay = float(check.options.get("delay", 1.0))
    started = time.perf_counter()
    detail, status = "", "failed"
    for attempt in range(retries + 1):
        try:
            detail = _PROBES[check.kind](check, system)
            status = "passed"
            break
        except (OSError, TendError, ValueError) as error:
            detail, status = str(error) or type(error).__name__, "failed"
            if attempt < retries:
                sleep(delay)
    return CheckResult(check.kind, str(check.target), status, detail, str(check.location),
                       (time.perf_counter() - started) * 1000)  # fmt: skip


def _http(check: Check, system: System) -> str:
    import urllib.error
    import urllib.request

    timeout = float(check.options.get("timeout", DEFAULT_TIMEOUT))
    want = int(check.options.get("status", 200))
    try:
        with urllib.request.urlopen(str(check.target), timeout=timeout) as response:
            status, body = response.status, response.read(1 << 20)
    except urllib.error.HTTPError as error:
        status, body = error.code, b""
    if status != want:
        raise ValueError(f"HTTP {status}, expected {want}")
    contains = check.options.get("contains")
    if contains is not None and str(contains).encode() not in body:
        raise ValueError(f"the response does not contain {contains!r}")
    return f"HTTP {status}"


def _tcp(check: Check, system: System) -> str:
    import socket

    host, port = str(check.target).rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=float(check.options.get("timeout", DEFAULT_TIMEOUT))):
        return "connected"


def _command(check: Check, system: System) -> str:
    argv = ["/bin/sh", "-c", check.target] if isinstance(check.target, str) else [str(a) for a in check.target]
    result = system.run(argv, timeout=float(check.options.get("timeout", 30)))
    if not result.ok:
        raise ValueError(result.failure())
    return "exit 0"


def _process(check: Check, system: System) -> str:
    import psutil

    pattern = re.compile(str(check.target))
    for process in psutil.process_iter(["cmdline", "status", "pid"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["status"] != psutil.STATUS_ZOMBIE and pattern.search(cmdline):
            return f"pid {process.info['pid']}"
    raise ValueError(f"no running process matches {pattern.pattern!r}")


_PROBES: dict[str, Callable[[Check, System], str]] = {
    "http": _http,
    "tcp": _tcp,
    "command": _command,
    "process": _process,
}

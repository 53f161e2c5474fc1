"""The machine's setting: `virtual`, `mountpoints`, `disks`, `timezone` and `systemd`, named as Facter names them."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agent.system import commands

# systemd-detect-virt's names of container managers; anything else it names is a virtual machine.
CONTAINERS = frozenset(
    ["container-other", "docker", "lxc", "lxc-libvirt", "openvz", "podman", "pouch", "proot", "rkt",
     "systemd-nspawn", "wsl"]
)  # fmt: skip
SYSTEMD_RUN = Path("/run/systemd/system")
_SKIPPED_DISKS = ("loop", "ram", "zram", "dm-", "md", "sr")


def machine_facts(proc: Path = Path("/proc"), sys_block: Path = Path("/sys/block"), etc: Path = Path("/etc")) -> dict:
    return {name: read() for name, read in machine_readers(proc, sys_block, etc).items()}


def machine_readers(
    proc: Path = Path("/proc"), sys_block: Path = Path("/sys/block"), etc: Path = Path("/etc")
) -> dict[str, Callable[[], Any]]:
    """What reads each machine fact when called; `virtual` and what follows from it ask systemd-detect-virt once."""
    virtual = functools.cache(lambda: detect_virtual(proc))
    return {
        "virtual": virtual,
        "is_virtual": lambda: virtual() != "physical",
        "container": lambda: virtual() in CONTAINERS,
        "mountpoints": mountpoints,
        "disks": lambda: disks(sys_block),
        "timezone": lambda: timezone(etc),
        "systemd": SYSTEMD_RUN.is_dir,
    }


def detect_virtual(proc: Path = Path("/proc"), root: Path = Path("/")) -> str:
    """What systemd-detect-virt says (`physical` for its `none`), else what the container left behind."""
    if shutil.which("systemd-detect-virt", path=commands.DEFAULT_ENV["PATH"]):
        result = commands.run(["systemd-detect-virt"], timeout=10)
        answer = result.stdout.decode(errors="replace").strip()
        if answer and not result.timed_out:
            return "physical" if answer == "none" else answer
    return container_hint(proc, root) or "physical"


def container_hint(proc: Path, root: Path) -> str | None:
    """The container manager named by PID 1's `container=` variable, /run/systemd/container or /.dockerenv."""
    try:
        environ = (proc / "1/environ").read_bytes().split(b"\0")
    except OSError:
        environ = []
    for entry in environ:
        if entry.startswith(b"container="):
            return entry.split(b"=", 1)[1].decode(errors="replace") or "container-other"
    try:
        named = (root / "run/systemd/container").read_text().strip()
    except OSError:
        named = ""
    if named:
        return named
    return "docker" if (root / ".dockerenv").exists() else None


def mountpoints() -> dict:
    """Each mounted filesystem (real devices) with its device, type, options and sizes in bytes."""
    import psutil  # lazily: see read_networking

    found: dict = {}
    for part in psutil.disk_partitions(all=False):
        try:
            usage = psutil.disk_usage(part.mountpoint)
        except OSError:
            continue
        found[part.mountpoint] = {
            "device": part.device,
            "filesystem": part.fstype,
            "options": part.opts.split(","),
            "size_bytes": usage.total,
            "used_bytes": usage.used,
            "available_bytes": usage.free,
        }
    return found


def disks(sys_block: Path = Path("/sys/block")) -> dict:
    """Block devices (not loop, ram, device-mapper or optical) with their size in bytes and model."""
    found: dict = {}
    try:
        names = sorted(os.listdir(sys_block))
    except OSError:
        return found
    for name in names:
        if name.startswith(_SKIPPED_DISKS):
            continue
        device = sys_block / name
        sectors = _read(device / "size")
        found[name] = {
            "size_bytes": int(sectors) * 512 if sectors.isdigit() else None,
            "model": _read(device / "device/model") or None,
            "removable": _read(device / "removable") == "1",
        }
    return found


def timezone(etc: Path = Path("/etc")) -> str | None:
    """The zone name: /etc/timezone, else where /etc/localtime points in the zoneinfo tree."""
    named = _read(etc / "timezone")
    if named:
        return named
    try:
        target = os.readlink(etc / "localtime")
    except OSError:
        return None
    _, found, zone = target.partition("zoneinfo/")
    return zone if found and zone else None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""

"""Resource types, one module each; `TYPES` maps a manifest's type name to its class, each module imported when
its type is first used (an empty catalog loads none)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent.lazy import LazyMapping, load
from agent.resources.base import Resource

TYPES: Mapping[str, type[Resource[Any]]] = LazyMapping(
    {
        "file": "agent.resources.file:File",
        "exec": "agent.resources.exec:Exec",
        "package": "agent.resources.package:Package",
        "apt_source": "agent.resources.apt_source:AptSource",
        "service": "agent.resources.service:Service",
        "user": "agent.resources.user:User",
        "group": "agent.resources.group:Group",
        "sysctl": "agent.resources.sysctl:Sysctl",
        "line": "agent.resources.line:Line",
        "block": "agent.resources.block:Block",
        "ini": "agent.resources.ini:Ini",
    },
    load,
)

__all__ = ["TYPES", "Resource"]

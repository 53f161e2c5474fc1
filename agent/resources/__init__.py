"""Resource types, one module each; `TYPES` maps a manifest's type name to its class."""

from __future__ import annotations

from agent.resources.base import Resource
from agent.resources.exec import Exec
from agent.resources.file import File

TYPES: dict[str, type[Resource]] = {cls.type_name: cls for cls in (File, Exec)}

__all__ = ["TYPES", "Resource"]

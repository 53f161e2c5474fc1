"""Resource types, one module each; `TYPES` maps a manifest's type name to its class."""

from __future__ import annotations

from agent.resources.base import Resource
from agent.resources.exec import Exec
from agent.resources.file import File
from agent.resources.group import Group
from agent.resources.package import Package
from agent.resources.service import Service
from agent.resources.user import User

TYPES: dict[str, type[Resource]] = {cls.type_name: cls for cls in (File, Exec, Package, Service, User, Group)}

__all__ = ["TYPES", "Resource"]

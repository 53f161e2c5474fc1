"""Resource types, one module each; `TYPES` maps a manifest's type name to its class."""

from __future__ import annotations

from typing import Any

from agent.resources.apt_source import AptSource
from agent.resources.base import Resource
from agent.resources.block import Block
from agent.resources.exec import Exec
from agent.resources.file import File
from agent.resources.group import Group
from agent.resources.ini import Ini
from agent.resources.line import Line
from agent.resources.package import Package
from agent.resources.service import Service
from agent.resources.sysctl import Sysctl
from agent.resources.user import User

TYPES: dict[str, type[Resource[Any]]] = {
    cls.type_name: cls for cls in (File, Exec, Package, AptSource, Service, User, Group, Sysctl, Line, Block, Ini)
}

__all__ = ["TYPES", "Resource"]

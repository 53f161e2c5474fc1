"""An in-memory resource type for unit tests of the catalog and the runner: no host is touched."""

from __future__ import annotations

from typing import Any, ClassVar

from agent.errors import HostError
from agent.location import Location
from agent.resources.base import Attr, Change, Resource


class Memory(dict):
    """Stands in for the host: each fake resource's value lives here."""

    def __init__(self) -> None:
        super().__init__()
        self.refreshed: list[str] = []
        self.failing: set[str] = set()

    def changed(self) -> None:
        """As System.changed: the runner says when the host changed."""

    def sync(self) -> None:
        """As System.sync: the runner makes changes durable before it records them."""

    def trust(self, *, paths: Any = (), users: Any = ()) -> None:
        """As System.trust: the runner names the catalog's files and users before it applies anything."""


class Fake(Resource):
    type_name: ClassVar[str] = "fake"
    refreshable: ClassVar[bool] = True
    attributes: ClassVar[dict[str, Attr]] = {"value": Attr((str,))}

    def desired(self) -> dict[str, Any]:
        return {"value": self.values.get("value")}

    def current(self, system: Any) -> dict[str, Any]:
        return {"value": system.get(self.title)}

    def fix(self, system: Any, changes: list[Change]) -> None:
        if self.title in system.failing:
            raise HostError("cannot", subject=self.title)
        system[self.title] = self.values["value"]

    def refresh(self, system: Any) -> None:
        if self.title in system.failing:
            raise HostError("refresh failed", subject=self.title)
        system.refreshed.append(self.title)


def fake(title: str, value: str = "v", line: int = 1) -> Fake:
    return Fake(title=title, values={"value": value}, location=Location("manifests/t.yaml", line))

"""Hiera 5's module layer: `modules/<name>/hiera.yaml` and its data, answering only `<name>::…` keys."""

from __future__ import annotations

import json
import re
from pathlib import Path

from agent.data.config import CONFIG_NAME, DEFAULT_DATADIR, HieraConfig, Level, load_hiera_config
from agent.data.repo_paths import inside_repository
from agent.errors import ConfigError, DataError
from agent.formats import read_yaml_file
from agent.location import Location

MODULES_DIR = "modules"
# Puppet's module names: a lowercase letter, then lowercase letters, digits and underscores.
_MODULE_NAME = re.compile(r"[a-z][a-z0-9_]*")


def module_of(root_key: str) -> str | None:
    """The module a root key belongs to: what precedes its first `::` (None for an unqualified key)."""
    name, separator, _ = root_key.partition("::")
    return name if separator and _MODULE_NAME.fullmatch(name) else None


class ModuleLayers:
    """The module layers of a repository, each read the first time a key of its namespace is looked up."""

    def __init__(self, root: Path):
        self.root = root
        self._configs: dict[str, HieraConfig | None] = {}
        self.warnings: list[str] = []

    def config(self, name: str) -> HieraConfig | None:
        """Module `name`'s hierarchy, or None when it has no data (no such module, or no hiera.yaml)."""
        if name not in self._configs:
            self._configs[name] = self._load(name) if _MODULE_NAME.fullmatch(name) else None
        return self._configs[name]

    def names(self) -> list[str]:
        """Every module of the repository that has a data layer."""
        folder = self.root / MODULES_DIR
        found = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
        return [name for name in found if self.config(name) is not None]

    def _load(self, name: str) -> HieraConfig | None:
        base = f"{MODULES_DIR}/{name}"
        folder = self.root / base
        if not folder.is_dir():
            return None
        if not inside_repository(folder, self.root):
            raise DataError(
                f"module '{name}' resolves outside the repository ({folder.resolve()}): copy the module in, "
                "or add it as a git submodule",
                location=Location(base),
            )
        config = f"{base}/{CONFIG_NAME}"
        if (self.root / config).is_file():
            return self._configured(config, base)
        if _metadata_provider(self.root / base / "metadata.json") == "hiera":
            # The deprecated metadata.json "data_provider": "hiera" uses Hiera 5's default hierarchy.
            level = Level("common", f"{base}/{DEFAULT_DATADIR}", "path", ("common.yaml",), Location(config))
            return HieraConfig(self.root, (level,), config)
        return None  # as in Puppet 7: a module without hiera.yaml has no data layer

    def _configured(self, config: str, base: str) -> HieraConfig | None:
        document = read_yaml_file(self.root / config, config, error=ConfigError)
        version = document.value.get("version") if document and isinstance(document.value, dict) else None
        if version is None or version == 3:
            self.warnings.append(f"{config}: hiera.yaml version 3 found at module root was ignored (as in Puppet)")
            return None
        return load_hiera_config(self.root, config, base=base)


def _metadata_provider(path: Path) -> str | None:
    try:
        metadata = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return metadata.get("data_provider") if isinstance(metadata, dict) else None

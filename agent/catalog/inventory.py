"""keys/inventory.yaml through the compile cache (DESIGN §8.19): an inventory once checked is kept under its
text's digest, so that a run whose compile is cached parses no YAML at all, and any change of the text (however
small, whatever the file's times) is another entry."""

from __future__ import annotations

import hashlib
from pathlib import Path

from agent.catalog.cache import CompileCache
from agent.catalog.tracking import FactsRead
from agent.repo.inventory import Inventory, inventory_text, parse_inventory

KIND = "inventory"  # its entries' kind, and their folder in the cache


def cached_inventory(root: Path, cache: CompileCache) -> Inventory:
    """`load_inventory(root)`, served from `cache` when its text was checked before, else kept there."""
    text = inventory_text(root)
    if text is None:
        return Inventory({}, ())
    kept = cache.part(KIND)
    key = kept.key(KIND, hashlib.sha256(text.encode()).hexdigest())
    entry = kept.get(key, {})
    if entry is not None and entry.kind == KIND:
        try:
            hosts, admins = entry.body
            return Inventory(dict(hosts), tuple(admins))
        except (TypeError, ValueError):
            pass  # an entry of another shape is parsed afresh
    inventory = parse_inventory(text)
    kept.put(key, KIND, FactsRead((), whole=False), (inventory.hosts, list(inventory.admins)))
    return inventory

"""What the host is: system facts, local facts, and the layering that gives a run its `facts`."""

from __future__ import annotations

from agent.facts.inventory import inventory_facts
from agent.facts.layers import gather_facts
from agent.facts.local import FACTS_DIR, FACTS_FILE, load_local_facts
from agent.facts.overlay import overlay
from agent.facts.overrides import parse_fact_overrides
from agent.facts.system import system_facts

__all__ = [
    "FACTS_DIR",
    "FACTS_FILE",
    "gather_facts",
    "inventory_facts",
    "load_local_facts",
    "overlay",
    "parse_fact_overrides",
    "system_facts",
]

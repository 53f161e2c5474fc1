"""What a lookup tried and found, as `puppet lookup --explain` shows it: a tree, in text or JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agent.data.encrypted import EncryptedValue
from agent.data.sensitive import SensitiveValue


@dataclass(slots=True)
class PathTrace:
    original: str
    path: str
    status: str  # "found", "not found" or "path not found"
    value: Any = None
    line: int | None = None


@dataclass(slots=True)
class LevelTrace:
    name: str
    paths: list[PathTrace] = field(default_factory=list)
    module: str | None = None  # the module whose layer the level is in (None: the environment's)


@dataclass(slots=True)
class LookupTrace:
    key: str
    merge: dict[str, Any]
    merge_origin: str
    levels: list[LevelTrace] = field(default_factory=list)
    sub_lookups: list[LookupTrace] = field(default_factory=list)
    found: bool = False
    value: Any = None
    error: str | None = None


def show(value: Any) -> str:
    """A value for a person: JSON, with encrypted values as their `<secret: …>` label."""
    return json.dumps(to_plain(value), ensure_ascii=False)


def to_plain(value: Any) -> Any:
    if isinstance(value, EncryptedValue | SensitiveValue):
        return value.label()
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    return value


def render_text(trace: LookupTrace, indent: int = 0) -> str:
    return "\n".join(_lines(trace, indent)) + "\n"


def _lines(trace: LookupTrace, depth: int) -> list[str]:
    pad = "  " * depth
    out = [f'{pad}Searching for "{trace.key}"']
    out.append(f"{pad}  Merge strategy {_merge_text(trace.merge)} ({trace.merge_origin})")
    module = None
    for level in trace.levels:
        if level.module is not None and level.module != module:
            out.append(f'{pad}  Module "{level.module}" Data Provider (modules/{level.module}/hiera.yaml)')
        module = level.module
        out.append(f'{pad}  Hierarchy entry "{level.name}"')
        for path in level.paths:
            out.append(f'{pad}    Path "{path.path}"')
            out.append(f'{pad}      Original path: "{path.original}"')
            if path.status == "found":
                where = f" (line {path.line})" if path.line else ""
                out.append(f'{pad}      Found key: "{trace.key.split(".")[0]}"{where} value: {show(path.value)}')
            elif path.status == "not found":
                out.append(f'{pad}      No such key: "{trace.key.split(".")[0]}"')
            else:
                out.append(f"{pad}      Path not found")
    for sub in trace.sub_lookups:
        out.append(f"{pad}  Interpolation lookup:")
        out.extend(_lines(sub, depth + 2))
    if trace.error:
        out.append(f"{pad}  Error: {trace.error}")
    elif trace.found:
        label = "Merged result" if trace.merge.get("strategy") != "first" else "Result"
        out.append(f"{pad}  {label}: {show(trace.value)}")
    else:
        out.append(f"{pad}  Not found")
    return out


def _merge_text(merge: dict[str, Any]) -> str:
    extras = ", ".join(f"{k}: {json.dumps(v)}" for k, v in merge.items() if k != "strategy")
    return f'"{merge["strategy"]}"' + (f" with {extras}" if extras else "")


def to_json(trace: LookupTrace) -> dict[str, Any]:
    return {
        "key": trace.key,
        "merge": trace.merge,
        "merge_origin": trace.merge_origin,
        "levels": [
            {
                "name": level.name,
                **({"module": level.module} if level.module is not None else {}),
                "paths": [
                    {
                        "original": p.original,
                        "path": p.path,
                        "status": p.status,
                        **({"line": p.line, "value": to_plain(p.value)} if p.status == "found" else {}),
                    }
                    for p in level.paths
                ],
            }
            for level in trace.levels
        ],
        "sub_lookups": [to_json(sub) for sub in trace.sub_lookups],
        "found": trace.found,
        **({"value": to_plain(trace.value)} if trace.found else {}),
        **({"error": trace.error} if trace.error else {}),
    }

"""The Jinja2 side of rendering: the bounded sandbox, the repository's template loader, error lines."""

from __future__ import annotations

import functools
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jinja2

from agent.catalog.render import STATE, TEMPLATE_DIRS
from agent.catalog.sandbox import BoundedSandbox
from agent.errors import ManifestError
from agent.location import Location
from agent.secrets.secret import Secret


class _RepoLoader(jinja2.BaseLoader):
    """Finds templates under templates/ or next to the classes in manifests/, never outside the repository."""

    def __init__(self, root: Path):
        self.root = root.resolve()

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        for folder in TEMPLATE_DIRS:
            path = (self.root / folder / template).resolve()
            if path.is_file() and path.is_relative_to(self.root):
                text = path.read_text(encoding="utf-8")
                mtime = path.stat().st_mtime
                return text, str(path), lambda p=path, m=mtime: p.stat().st_mtime == m
        raise jinja2.TemplateNotFound(template)


def make_environment(root: Path) -> jinja2.Environment:
    """Strict, sandboxed and bounded, trim_blocks and keep_trailing_newline on; `{{ secret }}` reveals and
    taints the render (its RenderState, in the context)."""

    @jinja2.pass_context
    def finalize(context: jinja2.runtime.Context, value: Any) -> Any:
        if isinstance(value, Secret):
            context[STATE].taint(value)
            return value.reveal()
        return value

    env = BoundedSandbox(
        loader=_RepoLoader(root),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        finalize=finalize,
    )
    # `tojson` of the facts: the compile's view of them (agent/catalog/tracking.py) is written as the dict it is.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": _as_dict}
    env.drew_chance = False  # type: ignore[attr-defined]
    random = env.filters["random"]

    @functools.wraps(random)
    def chance(*args: Any, **kwargs: Any) -> Any:
        env.drew_chance = True  # type: ignore[attr-defined]  # a compile that did is never cached
        return random(*args, **kwargs)

    env.filters["random"] = chance
    return env


def _as_dict(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def error_of(error: Exception, where: Location, template: str | None, root: Path | None = None) -> ManifestError:
    """A rendering error pointing at the user's manifest line or template line, never at our code."""
    line = getattr(error, "lineno", None)
    path = getattr(error, "filename", None)
    if template is not None and line is None:
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename.endswith(template)]
        line = frames[-1].lineno if frames else None
        path = frames[-1].filename if frames else path
    message = getattr(error, "message", None) or str(error)
    if isinstance(error, jinja2.UndefinedError):
        message = f"undefined: {message}"
    if template is not None:
        shown = f"templates/{template}"
        if path and root is not None and Path(path).is_absolute() and Path(path).is_relative_to(root.resolve()):
            shown = str(Path(path).relative_to(root.resolve()))
        return ManifestError(f"in template: {message}", location=Location(shown, line), subject=None)
    return ManifestError(f"cannot render: {message}", location=where)

"""Jinja2 rendering of manifest strings and templates: sandboxed, strict, native types, secrets tainted."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from agent.errors import ManifestError, SecretError
from agent.location import Location
from agent.secrets.secret import Secret, holds_secret

_NATIVE = re.compile(r"\A\{\{(?P<expr>.*)\}\}\Z", re.DOTALL)
STATE = "__tend_render__"  # the name of the render's RenderState in the template context
TEMPLATE_DIRS = ("templates", "manifests")


class RenderState:
    """What one render learns as it runs: the first secret it revealed (its taint), the loop steps it took."""

    __slots__ = ("source", "steps")

    def __init__(self) -> None:
        self.source: Secret | None = None
        self.steps = 0

    def taint(self, secret: Secret) -> None:
        if self.source is None:
            self.source = secret

    @property
    def sensitive(self) -> bool:
        return self.source is not None

    def wrap(self, text: Any) -> Any:
        """A string built from a secret is a secret itself (keeping its origin), so its taint travels with it:
        through loop items, `when`, and any later template that uses it."""
        if self.source is None or not isinstance(text, str):
            return text
        return Secret(text, key=self.source.key, file=self.source.file)


@dataclass(frozen=True, slots=True)
class Rendered:
    value: Any
    sensitive: bool


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def safe_relative(name: str, where: Location, what: str) -> PurePosixPath:
    """A repository-relative path that cannot escape it: no absolute paths, no `..`."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts:
        raise ManifestError(f"{what} {name!r} must be a path inside the repository (no '/...' or '..')", location=where)
    return path


class Renderer:
    """Renders strings and template files for one repository; compiled templates are cached and shared."""

    def __init__(self, root: Path):
        self.root = root
        self._env: Any = None
        self._strings: dict[str, Any] = {}
        self._expressions: dict[str, Any] = {}

    @property
    def env(self) -> Any:
        """The Jinja2 environment, made (and Jinja2 imported) only when something is a template."""
        if self._env is None:
            from agent.catalog.jinja_env import make_environment

            self._env = make_environment(self.root)
        return self._env

    @property
    def repeatable(self) -> bool:
        """No render so far drew on chance (the `random` filter): rendering again gives the same."""
        return self._env is None or not self._env.drew_chance

    def value(self, value: Any, variables: Mapping[str, Any], where: Location) -> Rendered:
        """Render every string inside `value`; a string that is one `{{ … }}` keeps its native type, and a
        string built from a secret becomes a Secret."""
        result = self._value(value, variables, where)
        return Rendered(result, holds_secret(result))

    def _value(self, value: Any, variables: Mapping[str, Any], where: Location) -> Any:
        if isinstance(value, str):
            return self._string(value, variables, where) if is_template(value) else value
        if isinstance(value, list):
            return [self._value(v, variables, where) for v in value]
        if isinstance(value, dict):
            return {k: self._value(v, variables, where) for k, v in value.items()}
        return value

    def _string(self, text: str, variables: Mapping[str, Any], where: Location) -> Any:
        native = _NATIVE.match(text)
        if native and not is_template(native.group("expr")):
            return self._expression(native.group("expr"), variables, where)
        state = RenderState()
        try:
            template = self._strings.get(text)
            if template is None:
                template = self._strings[text] = self.env.from_string(text)
            return state.wrap(self.env.render_bounded(template, {**variables, STATE: state}))
        except (ManifestError, SecretError):
            raise
        except Exception as error:  # a Jinja2 error, or any failure of the user's expression
            raise render_error(error, where, None) from None

    def _expression(self, expression: str, variables: Mapping[str, Any], where: Location) -> Any:
        try:
            compiled = self._expressions.get(expression)
            if compiled is None:
                compiled = self._expressions[expression] = self.env.compile_expression(
                    expression, undefined_to_none=False
                )
            result = compiled(**variables, **{STATE: RenderState()})
            if _is_undefined(result):
                result._fail_with_undefined_error()
            # `{{ facts }}`: the compile's view of the facts (agent/catalog/tracking.py) becomes the dict it shows.
            return dict(result) if isinstance(result, Mapping) and not isinstance(result, dict) else result
        except (ManifestError, SecretError):
            raise
        except Exception as error:
            raise render_error(error, where, None) from None

    def template(self, name: str, variables: Mapping[str, Any], where: Location) -> Rendered:
        """Render a template file (templates/NAME, or manifests/NAME next to the classes)."""
        safe_relative(name, where, "template")
        state = RenderState()
        env = self.env
        try:
            text = env.render_bounded(env.get_template(name), {**variables, STATE: state})
        except (ManifestError, SecretError):
            raise
        except Exception as error:
            if type(error).__name__ == "TemplateNotFound":
                folders = " or ".join(f"{d}/{name}" for d in TEMPLATE_DIRS)
                raise ManifestError(f"template not found: no {folders}", location=where) from None
            raise render_error(error, where, name, self.root) from None
        return Rendered(state.wrap(text), state.sensitive)


def _is_undefined(value: Any) -> bool:
    import jinja2

    return isinstance(value, jinja2.Undefined)


def render_error(error: Exception, where: Location, template: str | None, root: Path | None = None) -> ManifestError:
    from agent.catalog.jinja_env import error_of

    return error_of(error, where, template, root)

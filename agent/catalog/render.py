"""Jinja2 rendering of manifest strings and templates: sandboxed, strict, native types, secrets tainted."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from agent.errors import ManifestError, SecretError
from agent.location import Location
from agent.secrets.secret import Secret

_NATIVE = re.compile(r"\A\{\{(?P<expr>.*)\}\}\Z", re.DOTALL)
_TAINT = "__tend_taint__"
TEMPLATE_DIRS = ("templates", "manifests")


class _Taint:
    __slots__ = ("sensitive",)

    def __init__(self) -> None:
        self.sensitive = False


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


class _Sandbox(SandboxedEnvironment):
    """Jinja's sandbox, and no attribute of a Secret at all: templates print a secret, never unwrap it."""

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return not isinstance(obj, Secret) and super().is_safe_attribute(obj, attr, value)


class Renderer:
    """Renders strings and template files for one repository; compiled templates are cached and shared."""

    def __init__(self, root: Path):
        self.root = root
        self.env = _Sandbox(
            loader=_RepoLoader(root),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            keep_trailing_newline=True,
            autoescape=False,
            finalize=_finalize,
        )
        self._strings: dict[str, jinja2.Template] = {}
        self._expressions: dict[str, Any] = {}

    def value(self, value: Any, variables: Mapping[str, Any], where: Location) -> Rendered:
        """Render every string inside `value`; a string that is one `{{ … }}` keeps its native type."""
        taint = _Taint()
        result = self._value(value, variables, where, taint)
        return Rendered(result, taint.sensitive or _holds_secret(result))

    def _value(self, value: Any, variables: Mapping[str, Any], where: Location, taint: _Taint) -> Any:
        if isinstance(value, str):
            return self._string(value, variables, where, taint) if is_template(value) else value
        if isinstance(value, list):
            return [self._value(v, variables, where, taint) for v in value]
        if isinstance(value, dict):
            return {k: self._value(v, variables, where, taint) for k, v in value.items()}
        return value

    def _string(self, text: str, variables: Mapping[str, Any], where: Location, taint: _Taint) -> Any:
        native = _NATIVE.match(text)
        if native and not is_template(native.group("expr")):
            return self._expression(native.group("expr"), variables, where)
        try:
            template = self._strings.get(text)
            if template is None:
                template = self._strings[text] = self.env.from_string(text)
            return template.render({**variables, _TAINT: taint})
        except jinja2.TemplateError as error:
            raise _error(error, where, None) from None
        except (ManifestError, SecretError):
            raise
        except Exception as error:
            raise _error(error, where, None) from None

    def _expression(self, expression: str, variables: Mapping[str, Any], where: Location) -> Any:
        try:
            compiled = self._expressions.get(expression)
            if compiled is None:
                compiled = self._expressions[expression] = self.env.compile_expression(
                    expression, undefined_to_none=False
                )
            result = compiled(**variables)
            if isinstance(result, jinja2.Undefined):
                result._fail_with_undefined_error()
            return result
        except (ManifestError, SecretError):
            raise
        except Exception as error:
            raise _error(error, where, None) from None

    def template(self, name: str, variables: Mapping[str, Any], where: Location) -> Rendered:
        """Render a template file (templates/NAME, or manifests/NAME next to the classes)."""
        safe_relative(name, where, "template")
        taint = _Taint()
        try:
            text = self.env.get_template(name).render({**variables, _TAINT: taint})
        except jinja2.TemplateNotFound:
            folders = " or ".join(f"{d}/{name}" for d in TEMPLATE_DIRS)
            raise ManifestError(f"template not found: no {folders}", location=where) from None
        except (ManifestError, SecretError):
            raise
        except Exception as error:
            raise _error(error, where, name, self.root) from None
        return Rendered(text, taint.sensitive)


@jinja2.pass_context
def _finalize(context: jinja2.runtime.Context, value: Any) -> Any:
    """Output of `{{ … }}`: a secret is written as its plaintext and taints what is being rendered."""
    if isinstance(value, Secret):
        context[_TAINT].sensitive = True
        return value.reveal()
    return value


def _holds_secret(value: Any) -> bool:
    if isinstance(value, Secret):
        return True
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    if isinstance(value, dict):
        return any(_holds_secret(v) for v in value.values())
    return False


def _error(error: Exception, where: Location, template: str | None, root: Path | None = None) -> ManifestError:
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

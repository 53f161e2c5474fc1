"""Jinja's sandbox with bounds: no Secret attribute, and no template may build more than a resource can hold.

A hostile or careless template can ask for gigabytes in a few bytes (`"x" * 10**9`, a doubling loop, a
filter with a huge width). Every operation that can multiply a size is checked *before* it runs, against
MAX_RENDERED characters (or MAX_INT_BITS for integers), and loops share a budget of MAX_STEPS
iterations per render, so a compile fails within seconds and bounded memory with one clear line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from types import GeneratorType
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.sandbox import SandboxedEnvironment

from agent.catalog.render import STATE
from agent.secrets.secret import Secret

MAX_RENDERED = 16 * 1024 * 1024  # characters a resource's rendered value may hold
MAX_STEPS = 1_000_000  # loop iterations in one render (nested loops multiply)
MAX_INT_BITS = 1 << 16  # about 20,000 decimal digits
_STEPS_FILTER = "__tend_steps"
_NUMBER = re.compile(r"\d+")


class RenderLimit(Exception):
    """A template asked for more than a resource may hold; the message says which bound and how much."""

    lineno: int | None = None


def too_big(size: int, what: str = "the rendered value") -> RenderLimit:
    return RenderLimit(f"{what} would hold {size:,} characters, over the limit of {MAX_RENDERED:,}")


def check_size(size: int, what: str = "the rendered value") -> None:
    if size > MAX_RENDERED:
        raise too_big(size, what)


def _size(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


class _BoundedCode(CodeGenerator):
    """Concatenation (`~`) goes through the environment's bounded join; every `for` counts its steps."""

    def visit_Concat(self, node: nodes.Concat, frame: Any) -> None:
        self.write("environment.bounded_join((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")

    def visit_Template(self, node: nodes.Template, frame: Any = None) -> None:
        # Before the generator collects the filters it needs: every loop's iterable counts its steps.
        for loop in node.find_all(nodes.For):
            if not (isinstance(loop.iter, nodes.Filter) and loop.iter.name == _STEPS_FILTER):
                loop.iter = nodes.Filter(loop.iter, _STEPS_FILTER, [], [], None, None, lineno=loop.lineno)
        super().visit_Template(node, frame)


@jinja2.pass_context
def _count_steps(context: Any, iterable: Any) -> Iterator[Any]:
    state = context.get(STATE)
    for item in iterable:
        if state is not None:
            state.steps += 1
            if state.steps > MAX_STEPS:
                raise RenderLimit(f"loops ran over {MAX_STEPS:,} iterations in one render")
        yield item


class BoundedSandbox(SandboxedEnvironment):
    """Jinja's sandbox, no attribute of a Secret at all, and sizes checked before they are built."""

    code_generator_class = _BoundedCode
    intercepted_binops = frozenset(["+", "*", "**", "%"])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals.pop("lipsum", None)  # lipsum(n) writes n paragraphs: a bomb with no use in configuration
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters[_STEPS_FILTER] = _count_steps

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return not isinstance(obj, Secret) and super().is_safe_attribute(obj, attr, value)

    def render_bounded(self, template: jinja2.Template, variables: dict[str, Any]) -> str:
        """Render chunk by chunk, stopping as soon as the output passes the limit (never all of it in memory);
        the error names the template line that was writing."""
        body = template.root_render_func(template.new_context(variables))
        assert isinstance(body, GeneratorType), "a compiled template renders through a generator"
        chunks, size = [], 0
        try:
            for chunk in body:
                size += len(chunk)
                if size > MAX_RENDERED:
                    error = too_big(size)
                    frame = body.gi_frame
                    error.lineno = None if frame is None else template.get_corresponding_lineno(frame.f_lineno)
                    raise error
                chunks.append(chunk)
        except Exception:
            self.handle_exception()  # Jinja's own traceback rewrite: errors point at template lines
        finally:
            body.close()
        return "".join(chunks)

    def bounded_join(self, parts: tuple[Any, ...]) -> str:
        texts = [str(part) for part in parts]
        check_size(sum(len(t) for t in texts), "a concatenation (~)")
        return "".join(texts)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _check_binop(operator, left, right)
        result = self.binop_table[operator](left, right)
        if operator == "%" and isinstance(result, str):
            check_size(len(result), "a % format")
        return result

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(__obj, "__name__", "a call")
        bound = getattr(getattr(__obj, "__wrapped__", __obj), "__self__", None)  # "x".center, "{}".format
        subject = [bound] if isinstance(bound, str | list | tuple) else []
        _check_arguments(name, [*subject, *args, *kwargs.values()])
        result = super().call(__context, __obj, *args, **kwargs)
        size = _size(result)
        if size is not None:
            check_size(size, f"the result of {name}()")
        return result


def _check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "+":
        sizes = (_size(left), _size(right))
        if None not in sizes:
            check_size(sum(sizes), "a sum (+)")  # type: ignore[arg-type]
    elif operator == "*":
        for seq, times in ((left, right), (right, left)):
            if _size(seq) is not None and isinstance(times, int):
                check_size(_size(seq) * max(times, 0), "a repetition (*)")  # type: ignore[operator]
        if isinstance(left, int) and isinstance(right, int):
            _check_bits(left.bit_length() + right.bit_length())
    elif operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
        _check_bits(left.bit_length() * right)
    elif operator == "%" and isinstance(left, str):
        _check_numbers(left, "a % format")


def _check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise RenderLimit(f"an integer of about {bits:,} bits, over the limit of {MAX_INT_BITS:,}")


def _check_numbers(text: str, what: str) -> None:
    """A width or count written in a format string: over the limit, it asks for more than may be built."""
    for number in _NUMBER.findall(text):
        if len(number) > 12 or int(number) > MAX_RENDERED:
            raise too_big(int(number[:13]), what)


def _check_arguments(name: str, values: list[Any]) -> None:
    """Before a filter or method runs: no width or count over the limit, and no product of sizes over it."""
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_RENDERED:
            raise RenderLimit(f"{name}() was given {value:,}, over the limit of {MAX_RENDERED:,}")
    if name in ("format", "format_map") and values and isinstance(values[0], str):
        _check_numbers(values[0], f"{name}()")
    estimate = _ESTIMATES.get(name)
    if estimate is not None and values:
        size = estimate(values)
        if size is not None:
            check_size(size, f"{name}()")


def _replace(values: list[Any]) -> int | None:
    text, old, new = ([*values, None, None])[:3]
    if not (isinstance(text, str) and isinstance(old, str) and isinstance(new, str)):
        return None
    count = text.count(old) if old else len(text) + 1
    return len(text) + count * max(len(new) - len(old), 0)


def _join(values: list[Any]) -> int | None:
    """str.join(sep, items) or the filter join(items, sep): the items' sizes plus a separator between each."""
    first, second = ([*values, ""])[:2]
    sep, items = (first, second) if isinstance(first, str) else (second if isinstance(second, str) else "", first)
    if not isinstance(items, list | tuple):
        return None
    return sum(len(str(i)) for i in items) + max(len(items) - 1, 0) * len(sep)


def _indent(values: list[Any]) -> int | None:
    """indent(text, width): the width (spaces, or a string) added to every line."""
    text, width = ([*values, 4])[:2]
    if not isinstance(text, str):
        return None
    added = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    return len(text) + (text.count("\n") + 1) * added


def _wordwrap(values: list[Any]) -> int | None:
    """wordwrap(text, width, …, wrapstring): a wrapstring at most every `width` characters."""
    text, width = ([*values, 79])[:2]
    if not isinstance(text, str) or not isinstance(width, int) or isinstance(width, bool):
        return None
    wrap = max((len(v) for v in values[2:] if isinstance(v, str)), default=1)
    return len(text) + (len(text) // max(width, 1) + text.count("\n") + 1) * wrap


_ESTIMATES = {"replace": _replace, "join": _join, "indent": _indent, "wordwrap": _wordwrap}
_CONTEXTS = (jinja2.runtime.Context, jinja2.nodes.EvalContext, jinja2.Environment)


def _bounded_filter(name: str, function: Any) -> Any:
    """The filter, its arguments checked before it runs and its result after."""

    def bounded(*args: Any, **kwargs: Any) -> Any:
        _check_arguments(name, [a for a in args if not isinstance(a, _CONTEXTS)] + list(kwargs.values()))
        result = function(*args, **kwargs)
        size = _size(result)
        if size is not None:
            check_size(size, f"the {name} filter")
        return result

    if hasattr(function, "jinja_pass_arg"):
        bounded.jinja_pass_arg = function.jinja_pass_arg  # type: ignore[attr-defined]
    bounded.__name__ = name
    return bounded

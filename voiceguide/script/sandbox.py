"""The jinja2 sandbox narration templates run in, with every step of work bounded.

A template is untrusted code: one line such as ``{% set a = a ~ a %}`` repeated, a
``join`` of a long list, ``'%0999999999d' % 1`` or nested loops could otherwise allocate
gigabytes or spin for ever. Here every operation that makes a value (``~``, ``+``,
``*``, ``**``, ``%``, filters, calls, ``{{ ... }}`` output) checks the size of what it
would make *before* making it, every loop step and operation is counted, and the
time limit is checked at each of them (the CPU time of the thread that renders, so
that builds in several threads at once, waiting on each other, do not fail where one
alone passes: an app team's review). The checks run in whatever thread or
process renders (no signals), so nothing (a worker thread, a gc callback) can escape or
swallow them. Values are in :mod:`voiceguide.limits`.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Final

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from jinja2.visitor import NodeTransformer

from voiceguide.limits import (
    MAX_TEMPLATE_ITEMS,
    MAX_TEMPLATE_OUTPUT,
    MAX_TEMPLATE_STEPS,
    RENDER_SECONDS,
)
from voiceguide.script.bounds import (
    CHECKS,
    OPERATORS,
    Unspeakable,
    check_format,
    check_items,
    check_result,
    check_string,
    size_of,
    spoken,
    words_or_number,
)

SAFE_FILTERS = (
    "upper", "lower", "title", "capitalize", "trim", "default", "d", "length", "count",
    "first", "last", "join", "int", "float", "round", "abs", "string",
)
"""jinja2's filters narration may use (``words`` and ``masculine`` are added by the
narrator, see :mod:`voiceguide.script.filters`)."""
TEXT_FILTERS: Final = frozenset({"upper", "lower", "title", "capitalize", "trim",
                                 "masculine"})
"""Filters that make text of what they are given: given only words or a number."""
SAFE_STR_METHODS = frozenset(
    {"upper", "lower", "title", "capitalize", "strip", "lstrip", "rstrip", "startswith",
     "endswith", "isdigit"}
)
"""String methods narration may call."""
HIDDEN_PREFIX = "_vg_"
"""Names of the sandbox's own helpers; templates may not use names starting with it."""



def refusal(message: str) -> str:
    """What to tell of a refused template (jinja2's ``SecurityError`` ``message``): one
    reaching into Python (``''.__class__``, ``'a b'.split()``) was told "...is unsafe.;
    keep narration templates small", with no word of what narration may use."""
    import re

    attribute = re.match(r"access to attribute '([^']*)' of '([^']*)' object", message)
    method = re.match(r"<(?:built-in )?(?:method|function) (\w+)", message)
    if attribute is None and method is None and "not safely callable" not in message:
        return f"{message}; keep narration templates small"  # a size or a step limit
    kind = attribute.group(2) if attribute else ""
    kind = "variable not set here" if kind in ("Unset", "Undefined") else kind  # ours
    what = (f"'{attribute.group(1)}' of a {kind}" if attribute else
            f"'{method.group(1)}()'" if method else "that call")  # (not its 0x address)
    return (f"a template may not reach into Python attributes or methods ({what}); use "
            "the variables (name, side, reps...), the filters (" + ", ".join(
                sorted({*SAFE_FILTERS, "words", "masculine"} - {"d"})) + ") and the text methods "
            + ", ".join(f"{m}()" for m in sorted(SAFE_STR_METHODS)))


class Budget:
    """The work one render (with the phrases it calls) may still do."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = RENDER_SECONDS if seconds is None else seconds
        """The time limit of this render (CPU seconds of the rendering thread)."""
        self.deadline = time.thread_time() + self.seconds
        self.steps = 0
        self.loops = 0
        self.range_items = 0
        self.output = 0

    def step(self) -> None:
        """Count one operation; stop the render past the step or time limit."""
        self.steps += 1
        if self.steps > MAX_TEMPLATE_STEPS:
            raise SecurityError(f"template does more than {MAX_TEMPLATE_STEPS} operations")
        if time.thread_time() > self.deadline:
            raise TimeoutError


_LOCAL = threading.local()


def current() -> Budget:
    """The budget of the render running in this thread (a fresh one outside a render,
    e.g. when jinja folds constants while compiling)."""
    stack: list[Budget] | None = getattr(_LOCAL, "stack", None)
    return stack[-1] if stack else Budget()


class rendering:
    """Make ``budget`` the current one in this thread for the ``with`` block."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def __enter__(self) -> Budget:
        if not hasattr(_LOCAL, "stack"):
            _LOCAL.stack = []
        _LOCAL.stack.append(self.budget)
        return self.budget

    def __exit__(self, *exc: object) -> None:
        _LOCAL.stack.pop()


def bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` (a jinja2 filter) counted as a step, with its result bounded; ``join``
    and ``string`` are checked before they build their string."""

    @functools.wraps(func)
    def bounded(*args: Any, **kwargs: Any) -> Any:
        budget = current()
        budget.step()
        values = [a for a in args if not isinstance(a, jinja2.nodes.EvalContext
                                                    | jinja2.Environment
                                                    | jinja2.runtime.Context)]
        if name == "join" and (len(values) > 2 or "attribute" in kwargs):  # an item's
            raise SecurityError("join's attribute is not allowed in narration")  # method
        if name == "join" and values:
            items = list(_limited(values[0], "join"))
            for item in items:  # "{{ [range] | join }}": the function's address
                spoken(item, "join")
            sep = kwargs.get("d", values[1] if len(values) > 1 else "")
            n = sum(size_of(x) for x in items) + size_of(sep) * max(len(items) - 1, 0)
            check_string(n, "join")
            args = tuple(items if a is values[0] else a for a in args)
        elif name == "string" and values:
            spoken(values[0], "string")
            check_string(size_of(values[0]), "string")
        elif name in TEXT_FILTERS and values:  # "{{ range | lower }}" made text of it
            spoken(values[0], name)
        return check_result(func(*args, **kwargs), name)

    return bounded


def _limited(iterable: Any, what: str) -> Iterator[Any]:
    for i, item in enumerate(iterable):
        if i >= MAX_TEMPLATE_ITEMS:
            check_items(i + 1, what)
        yield item


class _Transform(NodeTransformer):
    """Rewrites a parsed template so loops and ``~`` go through the bounded helpers."""

    def visit_Name(self, node: nodes.Name) -> nodes.Name:
        if node.name.startswith(HIDDEN_PREFIX):
            raise SecurityError(f"names starting with '{HIDDEN_PREFIX}' are reserved")
        return node

    def visit_Const(self, node: nodes.Const) -> nodes.Const:
        if isinstance(node.value, float) and not math.isfinite(node.value):
            raise Unspeakable("a number too large to say (as in 1e400)")
        return node

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _call("iter", [node.iter], node.lineno)  # type: ignore[list-item]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _call("concat", list(node.nodes), node.lineno)


def _call(helper: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
    return nodes.Call(nodes.Name(HIDDEN_PREFIX + helper, "load", lineno=lineno), args, [],
                      None, None, lineno=lineno)


class Sandbox(SandboxedEnvironment):
    """jinja2's sandbox with every operator, call, look-up, loop step and output counted
    and bounded; only whitelisted callables may be called."""

    intercepted_binops = frozenset(OPERATORS)

    def __init__(self) -> None:
        super().__init__(undefined=jinja2.StrictUndefined, autoescape=False,
                         optimized=False, finalize=self._finalize)
        self.filters = {k: bounded_filter(k, v) for k, v in self.filters.items()
                        if k in SAFE_FILTERS}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        out = _Transform().visit(tree)
        out.set_environment(self)
        return out  # type: ignore[no-any-return]

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        current().step()
        check = CHECKS.get(operator_)
        if check is not None:
            check(left, right)
        return check_result(OPERATORS[operator_](left, right), f"'{operator_}'")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__
        mapping = value.__name__ == "format_map"

        @functools.wraps(wrapped)
        def bounded(*args: Any, **kwargs: Any) -> str:
            current().step()
            check_format(fmt, () if mapping else args,
                          args[0] if mapping and len(args) == 1 else kwargs)
            return str(check_result(wrapped(*args, **kwargs), "str.format"))

        return bounded

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        current().step()
        return check_result(super().call(__context, __obj, *args, **kwargs), "a call")

    def getattr(self, obj: Any, attribute: str) -> Any:
        current().step()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        current().step()
        return super().getitem(obj, argument)

    def is_safe_callable(self, obj: Any) -> bool:
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str):
            return getattr(obj, "__name__", "") in SAFE_STR_METHODS
        if owner is not None and not isinstance(owner, Helpers):
            return False
        return bool(super().is_safe_callable(obj))

    @staticmethod
    def _finalize(value: Any) -> Any:
        if callable(value) and not isinstance(value, jinja2.Undefined):  # "<built-in method
            # ... at 0x7ff4...>": a leak, and other bytes at every run
            raise Unspeakable("a template prints a function, not a value (as in "
                              "'{{ name.upper }}'): call it, as in '{{ name.upper() }}'")
        if not words_or_number(value):
            # '{{ self }}' spoke "TemplateReference None"; a list its brackets and quotes
            hint = ("join it, as in '{{ items | join(\", \") }}'"
                    if isinstance(value, list | tuple) else "print text or a number, as in "
                    "'{{ reps }}'")
            raise Unspeakable(f"a template prints a {type(value).__name__}, not words or "
                              f"a number: {hint}")
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # "hold for 10 seconds", not "10.0"
        budget = current()
        budget.step()
        n = size_of(value)
        check_string(n, "printing a value")
        budget.output += n
        if budget.output > MAX_TEMPLATE_OUTPUT:
            raise SecurityError(f"template prints more than {MAX_TEMPLATE_OUTPUT} characters")
        return value


class Helpers:
    """Owner of the callables a template may call: the sandbox's own helpers, which the
    rewritten template calls for loops and ``~``, and (in subclasses) narration globals."""

    def _vg_iter(self, iterable: Any) -> Iterator[Any]:
        budget = current()
        for item in iterable:
            budget.step()
            budget.loops += 1
            if budget.loops > MAX_TEMPLATE_ITEMS:
                raise SecurityError(f"loops may run at most {MAX_TEMPLATE_ITEMS} times "
                                    "per phrase")
            yield item

    def _vg_concat(self, *parts: Any) -> str:
        for part in parts:  # "{{ '' ~ range }}" said "bound method ... at 0x7f89..."
            spoken(part, "'~'")
        check_string(sum(size_of(p) for p in parts), "'~'")
        return "".join(str(p) for p in parts)

    def helpers(self) -> dict[str, Callable[..., Any]]:
        """The globals a rewritten template needs."""
        return {HIDDEN_PREFIX + "iter": self._vg_iter, HIDDEN_PREFIX + "concat": self._vg_concat}

"""The Jinja environment chat templates render in: what Hugging Face's
`apply_chat_template` provides, inside Jinja's immutable sandbox, with limits.

Model authors write templates for transformers, so a template must find the same
things here: loop controls (`{% break %}`, `{% continue %}`), the `{% generation %}`
tag, `tojson` with `ensure_ascii`, `indent`, `separators` and `sort_keys`,
`raise_exception` and `strftime_now`, and trim_blocks / lstrip_blocks. Variables the
caller has no value for (`tools` when there are none) stay undefined, as there.

The sandbox keeps a template from reaching Python internals (CVE-2024-34359). The
limits keep it from hanging the app: every `for` loop counts towards a budget of
iterations, strings and lists a template makes are capped, the output is capped, and
rendering stops at a deadline. The clock is read at every step a template can take
that may cost more than an attribute lookup (each loop iteration, call, filter, test,
operator and piece of output), so
a render stops within one step of the deadline whatever its loops do; and one step
stays short: a filter that works through its text in Python (wordwrap, urlize...) gets
at most SLOW_FILTER_CHARS, and widths and counts are held to MAX_CHARS. Each ends in a
ChatTemplateError that says so.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
import threading
import time
from typing import Any

from jinja2 import nodes
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from assistant.core.template_syntax import GenerationTag
from assistant.errors import ChatTemplateError

MAX_ITERATIONS = 2_000_000  # every loop of one render together
MAX_CHARS = 16_000_000  # the output, and any one string a template builds
MAX_ITEMS = 100_000  # any one list, tuple or dict a template builds (Jinja's sandbox caps range() so)
SLOW_FILTER_CHARS = 32_768  # the text a filter that is not in FAST_FILTERS may take
DEADLINE_S = 5.0
# filters that go through any text that fits MAX_CHARS in C, in one pass, in well under a
# tenth of a second; every other filter (wordwrap, urlize, join, list, sort...) is refused
# text over SLOW_FILTER_CHARS, so that no one step of a render is long
FAST_FILTERS = frozenset({
    "abs", "attr", "capitalize", "center", "count", "d", "default", "e", "escape", "first", "float",
    "forceescape", "int", "last", "length", "lower", "replace", "reverse", "safe", "string",
    "title", "tojson", "trim", "truncate", "upper", "wordcount",
})
_WIDTH = re.compile(r"(\d{8,})")  # a width or precision of 10,000,000 or more in a format string

_monotonic = time.monotonic
_HINT = "Set a chat template override for this model in its settings."


def raise_exception(message: str) -> None:
    raise ChatTemplateError(f"The model's chat template refused the conversation: {message}", _HINT)


def strftime_now(fmt: str) -> str:
    return datetime.datetime.now().strftime(fmt)


def tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: Any = None,
    sort_keys: bool = False,
) -> str:
    # transformers' own filter (not Jinja's, which HTML-escapes and takes only indent)
    seps = tuple(separators) if isinstance(separators, (list, tuple)) else None
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=seps, sort_keys=sort_keys)


class _Budget:
    """What one render may still spend."""

    def __init__(self) -> None:
        self.iterations = 0
        self.deadline = time.monotonic() + DEADLINE_S

    def check_time(self) -> None:
        if _monotonic() > self.deadline:
            self.overtime()

    def overtime(self) -> None:
        if _monotonic() > self.deadline:
            raise ChatTemplateError(
                f"The model's chat template took longer than {DEADLINE_S:g} s to render and was stopped.",
                _HINT,
            )


def _too_big() -> ChatTemplateError:
    return ChatTemplateError(
        f"The model's chat template wrote more than {MAX_CHARS // 1_000_000} MB of text and was stopped.",
        _HINT,
    )


class _Guard(NodeTransformer):
    """Wraps every loop's iterable in the `_loop_guard` filter and every `~` in `_size_guard`."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_loop_guard", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return nodes.Filter(node, "_size_guard", [], [], None, None, lineno=node.lineno)


class ChatTemplateEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["*", "+", "**", "%", "//"])

    def __init__(self) -> None:
        super().__init__(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols, GenerationTag])
        self._local = threading.local()  # one budget per rendering thread
        self.globals["raise_exception"] = raise_exception
        self.globals["strftime_now"] = strftime_now
        self.filters["tojson"] = tojson
        self.filters = {name: self._guarded(name, f) for name, f in self.filters.items()}
        self.tests = {name: self._guarded(name, f) for name, f in self.tests.items()}
        self.filters["_loop_guard"] = self._loop_guard
        self.filters["_size_guard"] = self._size_guard

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        # a template's own lists may grow (Kimi K2 Thinking keeps its call ids in one): what
        # a template is given is a copy made for each rendering (templates.render)
        if isinstance(obj, list) and attr in ("append", "extend", "pop"):
            return True
        return bool(super().is_safe_attribute(obj, attr, value))

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        return _Guard().visit(tree)  # type: ignore[no-any-return]

    @property
    def budget(self) -> _Budget:
        budget = getattr(self._local, "budget", None)
        if budget is None:
            budget = self._local.budget = _Budget()
        return budget

    def _loop_guard(self, iterable: Any) -> Any:
        budget = self.budget
        for item in iterable:
            budget.iterations += 1
            if budget.iterations > MAX_ITERATIONS:
                raise ChatTemplateError(
                    f"The model's chat template looped more than {MAX_ITERATIONS:,} times and was stopped.", _HINT
                )
            budget.check_time()
            yield item

    def _size_guard(self, value: Any) -> Any:
        if isinstance(value, str):
            if len(value) > MAX_CHARS:
                raise _too_big()
        elif isinstance(value, (list, tuple, dict, set)) and len(value) > MAX_ITEMS:
            raise _too_big()
        return value

    def _guarded(self, name: str, func: Any) -> Any:
        """A filter or test that reads the clock before and after, refuses arguments that
        would make one step long, and caps what it returns."""
        slow = name not in FAST_FILTERS

        @functools.wraps(func)  # keeps jinja_pass_arg: the compiler passes context / environment
        def guarded(*args: Any, **kwargs: Any) -> Any:
            budget = self.budget
            budget.check_time()
            for a in (*args, *kwargs.values()):
                if isinstance(a, int) and not isinstance(a, bool) and abs(a) > MAX_CHARS:
                    raise _too_big()
                if slow and isinstance(a, str) and len(a) > SLOW_FILTER_CHARS:
                    raise ChatTemplateError(
                        f"The model's chat template used “{name}” on more than {SLOW_FILTER_CHARS:,} characters and was stopped.",
                        _HINT)
            result = func(*args, **kwargs)
            budget.check_time()
            return self._size_guard(result)

        return guarded

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        self.budget.check_time()
        if operator == "%" and isinstance(left, str) and _WIDTH.search(left):
            raise _too_big()
        if operator == "**" and isinstance(right, int) and abs(right) > 256:
            raise ChatTemplateError("The model's chat template computed a number too large to render.", _HINT)
        if operator == "*" and isinstance(right, (str, list, tuple)) and isinstance(left, int):
            left, right = right, left
        if operator == "*" and isinstance(left, (str, list, tuple)) and isinstance(right, int):
            if len(left) * right > (MAX_CHARS if isinstance(left, str) else MAX_ITEMS):
                raise _too_big()
        # text + a call's arguments (an object): its JSON, as llama.cpp's templates get it
        # (DeepSeek R1's template joins the arguments to its markup)
        if operator == "+" and isinstance(left, str) and isinstance(right, dict):
            right = tojson(right)
        elif operator == "+" and isinstance(left, dict) and isinstance(right, str):
            left = tojson(left)
        result = super().call_binop(context, operator, left, right)
        return self._size_guard(result)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (Jinja's names)
        budget = __self.budget
        budget.check_time()
        fmt = getattr(__obj, "__self__", None)
        if isinstance(fmt, str) and getattr(__obj, "__name__", "") in ("format", "format_map") and _WIDTH.search(fmt):
            raise _too_big()
        for a in (*args, *kwargs.values()):
            if isinstance(a, int) and not isinstance(a, bool) and abs(a) > MAX_CHARS:
                raise _too_big()
        result = super().call(__context, __obj, *args, **kwargs)
        budget.check_time()
        return __self._size_guard(result)

    def render_limited(self, template: Any, variables: dict[str, Any]) -> str:
        """Render with a fresh budget; the output is capped and the clock checked as it grows."""
        self._local.budget = budget = _Budget()
        parts: list[str] = []
        size = 0
        for piece in template.generate(**variables):
            parts.append(piece)
            size += len(piece)
            if size > MAX_CHARS:
                raise _too_big()
            budget.check_time()
        return "".join(parts)

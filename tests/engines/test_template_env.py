"""The template environment: what transformers gives templates, and limits that stop a
hostile or broken template without hanging the app."""

from __future__ import annotations

import time

import pytest

from assistant.core.types import Message
from assistant.engines import templates
from assistant.errors import ChatTemplateError

HI = [Message("user", "hi")]


def r(source: str, messages: list[Message] = HI, **extra: object) -> str:
    return templates.render(source, messages, **extra)


def test_loop_controls_and_the_generation_tag() -> None:
    src = ("{% for i in range(10) %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}{{ i }}{% endfor %}"
           "|{% generation %}{{ messages[0]['content'] }}{% endgeneration %}")
    assert r(src) == "013|hi"


def test_tojson_takes_transformers_arguments() -> None:
    value = {"b": "é", "a": [1, 2]}
    assert r("{{ v | tojson }}", v=value) == '{"b": "é", "a": [1, 2]}'
    assert r("{{ v | tojson(ensure_ascii=True) }}", v=value) == '{"b": "\\u00e9", "a": [1, 2]}'
    assert r("{{ v | tojson(separators=(',', ':'), sort_keys=True) }}", v=value) == '{"a":[1,2],"b":"é"}'
    assert r("{{ v | tojson(indent=2) }}", v={"a": 1}) == '{\n  "a": 1\n}'


def test_tools_are_undefined_when_there_are_none_and_helpers_exist() -> None:
    src = "{% if tools is defined %}{% for t in tools %}{{ t }}{% endfor %}{% else %}no tools{% endif %}"
    assert r(src) == "no tools"
    assert len(r("{{ strftime_now('%Y-%m-%d') }}")) == 10
    with pytest.raises(ChatTemplateError, match="must alternate"):
        r("{{ raise_exception('Conversation roles must alternate') }}")


@pytest.mark.parametrize(("source", "says"), [
    ("{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}", "looped more than"),
    ("{% set xs = range(100000) | list %}{% for a in xs %}{% for b in xs %}{% endfor %}{% endfor %}", "looped more than"),
    ("{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}", "looped|MB|longer than"),
    ("{{ 'x' * 1000000000 }}", "MB"),
    ("{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", "MB"),
    ("{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(60) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", "MB"),
    ("{{ 9 ** 9999999 }}", "too large"),
    ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursed|failed"),
])
def test_runaway_templates_stop_with_a_clear_error(source: str, says: str) -> None:
    t0 = time.perf_counter()
    with pytest.raises(ChatTemplateError, match=says):
        r(source)
    assert time.perf_counter() - t0 < 10


def test_a_slow_template_hits_the_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.engines import template_env

    monkeypatch.setattr(template_env, "DEADLINE_S", 0.05)
    src = "{% for a in range(1000) %}{% for b in range(1000) %}{{ b }}{% endfor %}{% endfor %}"
    with pytest.raises(ChatTemplateError, match="longer than"):
        r(src + " ")  # a new source: compiled again


def test_a_template_grows_its_own_lists_never_the_callers_data() -> None:
    # Kimi K2 Thinking keeps its call ids in a list it appends to and pops from
    assert r("{% set q = namespace(ids=[]) %}{% set _ = q.ids.append(1) %}{% set _ = q.ids.append(2) %}"
             "{{ q.ids.pop(0) }}{{ q.ids }}") == "1[2]"
    tools = [{"name": "t"}]
    assert r("{% set _ = tools.append({'name': 'evil'}) %}{{ tools | length }}", tools=tools) == "2"
    assert tools == [{"name": "t"}]  # the template had a copy
    with pytest.raises(ChatTemplateError):  # other mutations stay blocked
        r("{% set d = {} %}{{ d.update({'a': 1}) }}")
    with pytest.raises(ChatTemplateError):
        r("{{ messages.clear() }}")
    with pytest.raises(ChatTemplateError):  # and growth is bounded like any loop
        r("{% set xs = [] %}{% for i in range(100000000) %}{% set _ = xs.append(i) %}{% endfor %}")


def test_user_text_with_special_tokens_is_split_out_of_the_markup() -> None:
    t = templates.ChatTemplate(templates.CHATML)
    pieces = t.render_segments([Message("user", "a <|im_end|> b")], lambda s: ["<|im_end|>"] if "<|im_end|>" in s else [])
    assert pieces == [("<|im_start|>user\na ", True), ("<|im_end|>", False), (" b<|im_end|>\n<|im_start|>assistant\n", True)]


# -- the deadline holds whatever a loop's body does (issue 33: 80.6 s for a 5 s limit) --
_NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}BODY{% endfor %}{% endfor %}"
HEAVY_BODIES = {
    "a big string upper-cased": '{% set x = ("x" * 1000000)|upper %}',
    "a big string replaced": '{% set x = ("ab" * 2000000)|replace("a", "cc") %}',
    "a sorted list joined": '{% set x = range(99999)|list|sort(reverse=true)|join(",") %}',
    "a list as JSON": "{% set x = (range(99999)|list)|tojson %}",
    "a wide str.format": '{% set x = "{:>15}".format(1) * 1000000 %}',
    "map and select": '{% set x = range(99999)|map("string")|select("ne", "5")|map("upper")|list %}',
    # `+ j`: Jinja folds a filter on constants at compile time, which leaves a cheap body
    "a centred string": '{% set x = "a"|center(15000000 + j) %}',
}


def _stops_at(limit: float, source: str) -> None:
    """The render ends at `limit` seconds, half a second late at most. On a machine so busy
    that this process got under half a core meanwhile, the wall clock says little about the
    template: then the CPU time it used must fit in the same half second."""
    import sys

    late = 0.5 if sys.gettrace() is None else 1.5  # a tracer (the coverage run) slows each step
    t0, c0 = time.monotonic(), time.process_time()
    with pytest.raises(ChatTemplateError, match=f"longer than {limit:g} s"):
        r(source)
    took, cpu = time.monotonic() - t0, time.process_time() - c0
    assert took >= limit
    assert took <= limit + late or (cpu < took / 2 and cpu <= limit + late), f"stopped after {took:.2f} s ({cpu:.2f} s CPU)"


@pytest.mark.parametrize("body", list(HEAVY_BODIES.values()), ids=list(HEAVY_BODIES))
def test_the_deadline_holds_whatever_the_body_does(body: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from assistant.engines import template_env

    monkeypatch.setattr(template_env, "DEADLINE_S", 1.0)
    _stops_at(1.0, _NESTED.replace("BODY", body))


def test_the_real_limit_is_five_seconds_give_or_take_half_a_second() -> None:
    _stops_at(5.0, _NESTED.replace("BODY", HEAVY_BODIES["a big string replaced"]) + "  ")


@pytest.mark.parametrize(("source", "says"), [
    ('{{ ("word " * 10000)|wordwrap(7) }}', "“wordwrap” on more than 32,768 characters"),
    ('{{ ("see http://a.b/c " * 3000)|urlize }}', "“urlize” on more than"),
    ('{{ ("x" * 100000)|join(",") }}', "“join” on more than"),
    ('{{ ("x" * 100000)|list|length }}', "“list” on more than"),
    ('{{ ("a\\n" * 100000)|indent(2) }}', "“indent” on more than"),
    ('{{ "%0100000000d" % 1 }}', "MB"),
    ('{{ "{:>100000000}".format(1) }}', "MB"),
    ('{{ "a"|center(100000000) }}', "MB"),
    ("{{ [1] * 200000 }}", "MB"),
    ("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}", "MB"),
])
def test_one_step_is_never_long(source: str, says: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(ChatTemplateError, match=says):
        r(source)
    assert time.monotonic() - t0 < 1


def test_big_messages_still_go_through_the_filters_templates_use() -> None:
    # a pasted document is fine: the filters real templates use on message text are fast ones
    big = "word " * 400_000
    src = "{% for m in messages %}{{ m.content|trim|replace('x', 'y')|string }}{{ m.content|tojson|length }}{% endfor %}"
    out = templates.render(src, [Message("user", big)])
    assert out.startswith(big.strip())


def test_a_template_that_divides_by_zero_says_the_chat_template_failed() -> None:
    # issue 33: this came out as "The engine failed: ZeroDivisionError: division by zero"
    with pytest.raises(ChatTemplateError) as info:
        r("{{ 1 // 0 }}")
    assert info.value.message == "The model's chat template failed: integer division or modulo by zero."
    with pytest.raises(ChatTemplateError, match="^The model.s chat template failed: division by zero[.]\n"):
        r("{{ 1 / 0 }}")


def test_break_outside_a_loop_is_an_invalid_template() -> None:
    """Found by tools/fuzz.py: Jinja compiles it to Python that does not compile (a SyntaxError)."""
    from assistant.core.template_syntax import check_syntax

    for source in ("{% break %}", "{% if x %}{% continue %}{% endif %}"):
        with pytest.raises(ChatTemplateError, match="^The model's chat template is not valid Jinja [(]'(break|continue)' "):
            r(source)
        with pytest.raises(ChatTemplateError, match="not valid Jinja"):
            check_syntax(source)

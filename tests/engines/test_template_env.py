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
    ("{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}", "looped|MB"),
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


def test_the_sandbox_stays_immutable() -> None:
    with pytest.raises(ChatTemplateError):
        r("{% set xs = [] %}{{ xs.append(1) }}")


def test_user_text_with_special_tokens_is_split_out_of_the_markup() -> None:
    t = templates.ChatTemplate(templates.CHATML)
    pieces = t.render_segments([Message("user", "a <|im_end|> b")], lambda s: ["<|im_end|>"] if "<|im_end|>" in s else [])
    assert pieces == [("<|im_start|>user\na ", True), ("<|im_end|>", False), (" b<|im_end|>\n<|im_start|>assistant\n", True)]

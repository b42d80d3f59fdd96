"""The real chat templates of the families users download (tests/engines/templates),
rendered in the app's environment on the conversations a chat app meets."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.chat.store import ChatStore
from assistant.chat.turn import history_messages
from assistant.core.types import GenParams, Message
from assistant.engines import thinking as th
from assistant.engines.prompting import ChatFormat

TEMPLATES = Path(__file__).parent / "templates"
FILES = sorted(p.name for p in TEMPLATES.glob("*.jinja"))
REASONING = {
    "Qwen-Qwen3-0.6B.jinja": th.THINK, "Qwen3.5-4B.jinja": th.THINK, "Qwen-QwQ-32B.jinja": th.THINK,
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja": th.THINK, "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja": th.THINK,
    "HuggingFaceTB-SmolLM3-3B.jinja": th.THINK, "openai-gpt-oss-120b.jinja": th.HARMONY,
    "mistralai-Ministral-3-14B-Reasoning-2512.jinja": th.MISTRAL, "google-gemma-4-31B-it.jinja": th.GEMMA4,
    "GLM-4.7-Flash.jinja": th.THINK, "Kimi-K2-Thinking.jinja": th.THINK, "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja": th.THINK,
    "LFM2.5-Instruct.jinja": th.THINK, "deepseek-ai-DeepSeek-V3.1.jinja": th.THINK,
}
SECRET = "SECRET-THOUGHT-7731"


def fmt(name: str) -> ChatFormat:
    return ChatFormat((TEMPLATES / name).read_text(encoding="utf-8"), bos_token="<BOS>", eos_token="<EOS>")


def render(name: str, messages: list[Message], params: GenParams | None = None) -> str:
    return fmt(name).build(messages, params or GenParams(), lambda _text: []).text


def stored_history(store: ChatStore, rows: list[tuple[str, str, str, str]]) -> list[Message]:
    """rows: (role, content, status, thinking) into a real store, then what the model is shown."""
    conv = store.create_conversation("t")
    for role, content, status, thinking in rows:
        if role == "user":
            store.add_message(conv.id, "user", content)
        else:
            mid = store.begin_answer(conv.id, "llama.cpp", "m")
            store.finish_answer(mid, content, status, thinking=thinking, thinking_s=1.0)
    return history_messages(store, conv.id)


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with ChatStore.open(tmp_path / "h.db") as s:
        yield s


def test_every_family_is_here() -> None:
    for family in ("Qwen3", "Qwen3.5", "QwQ", "R1-Distill", "gpt-oss", "gemma-3", "gemma-4", "Llama-3.1",
                   "Llama-3.2", "Llama-3.3", "Mistral-Small-3.2", "phi-4", "granite-4.0", "SmolLM3"):
        assert any(family.lower() in f.lower() for f in FILES), family


@pytest.mark.parametrize("name", FILES)
def test_first_turn(name: str) -> None:
    text = render(name, [Message("user", "What is the capital of France?")])
    assert "What is the capital of France?" in text
    assert th.detect_format(fmt(name).source) is REASONING.get(name)


@pytest.mark.parametrize("name", FILES)
def test_three_turns(name: str) -> None:
    msgs = [Message("user", "One?"), Message("assistant", "Answer one."), Message("user", "Two?"),
            Message("assistant", "Answer two."), Message("user", "Three?")]
    text = render(name, msgs)
    positions = [text.index(s) for s in ("One?", "Answer one.", "Two?", "Answer two.", "Three?")]
    assert positions == sorted(positions)


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("status", ["stopped", "failed", "complete"])
def test_a_stopped_or_empty_answer_still_renders(name: str, status: str, store: ChatStore) -> None:
    history = stored_history(store, [("user", "First?", "", ""), ("assistant", "", status, ""), ("user", "Second?", "", "")])
    assert [m.role for m in history] == ["user"]  # the empty answer and its question are left out together
    text = render(name, history)
    assert "Second?" in text and "First?" not in text


@pytest.mark.parametrize("name", FILES)
def test_a_stopped_partial_answer_stays_as_context(name: str, store: ChatStore) -> None:
    history = stored_history(store, [("user", "First?", "", ""), ("assistant", "Half an ans", "stopped", ""),
                                     ("user", "Second?", "", "")])
    assert [m.role for m in history] == ["user", "assistant", "user"]
    text = render(name, history)
    assert text.index("First?") < text.index("Half an ans") < text.index("Second?")


@pytest.mark.parametrize("name", FILES)
def test_a_system_prompt(name: str) -> None:
    text = render(name, [Message("system", "Answer like a pirate."), Message("user", "Hello?")])
    assert "Answer like a pirate." in text and text.index("Answer like a pirate.") < text.index("Hello?")


def test_gemma2_refuses_the_system_role_so_it_joins_the_first_user_turn() -> None:
    f = fmt("google-gemma-2-2b-it.jinja")
    assert not f.template.system_ok
    text = render("google-gemma-2-2b-it.jinja", [Message("system", "Be brief."), Message("user", "Hi")])
    assert "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>" in text


@pytest.mark.parametrize("name", FILES)
def test_thinking_in_an_earlier_answer_is_not_sent_back(name: str, store: ChatStore) -> None:
    history = stored_history(store, [
        ("user", "First?", "", ""), ("assistant", "Paris.", "complete", SECRET),
        # an answer stored before thinking had its own field
        ("user", "Second?", "", ""), ("assistant", f"<think>\n{SECRET}\n</think>\n\nLyon.", "complete", ""),
        ("user", "Third?", "", ""),
    ])
    assert [m.content for m in history] == ["First?", "Paris.", "Second?", "Lyon.", "Third?"]
    assert all(not m.thinking for m in history)
    text = render(name, history)
    assert SECRET not in text and "Paris." in text and "Lyon." in text


def test_gpt_oss_second_turn_renders_and_its_analysis_is_thinking() -> None:
    name = "openai-gpt-oss-120b.jinja"
    raw = ["<|channel|>", "analysis", "<|message|>", "User greets", ". Reply", ".", "<|end|>", "<|start|>", "assistant",
           "<|channel|>", "final", "<|message|>", "Hello", "!"]
    first = [Message("user", "Hi")]
    prompt = fmt(name).build(first, GenParams(), lambda _t: [])
    assert prompt.text.endswith("<|start|>assistant")
    thinking, answer = "", ""
    for piece in raw:
        chunk = prompt.stream.feed(piece)
        thinking += chunk.thinking if chunk else ""
        answer += chunk.text if chunk else ""
    tail = prompt.stream.flush()
    answer += tail.text if tail else ""
    assert (thinking, answer) == ("User greets. Reply.", "Hello!")
    second = render(name, [*first, Message("assistant", answer), Message("user", "And again?")])
    assert "<|channel|>final<|message|>Hello!<|end|>" in second and "User greets" not in second


@pytest.mark.parametrize(("name", "setting", "expect", "absent"), [
    ("Qwen-Qwen3-0.6B.jinja", "off", "<|im_start|>assistant\n<think>\n\n</think>\n\n", None),
    ("Qwen-Qwen3-0.6B.jinja", "on", "<|im_start|>assistant\n", "</think>"),
    ("Qwen3.5-4B.jinja", "on", "<|im_start|>assistant\n<think>\n", "</think>"),
    ("google-gemma-4-31B-it.jinja", "off", "<|turn>model\n<|channel>thought\n<channel|>", None),
    ("openai-gpt-oss-120b.jinja", "high", "Reasoning: high", "Reasoning: medium"),
    ("openai-gpt-oss-120b.jinja", "low", "Reasoning: low", "Reasoning: medium"),
])
def test_the_thinking_setting_reaches_the_template(name: str, setting: str, expect: str, absent: str | None) -> None:
    text = render(name, [Message("user", "Hi")], GenParams(thinking=setting))
    assert expect in text
    if absent:
        assert absent not in text[text.rindex("Hi"):]


def test_thinking_controls_by_family() -> None:
    control = {name: th.thinking_control(fmt(name).source) for name in FILES}
    assert control["Qwen-Qwen3-0.6B.jinja"] == "toggle"
    assert control["google-gemma-4-31B-it.jinja"] == "toggle"
    assert control["openai-gpt-oss-120b.jinja"] == "effort"
    assert control["Qwen-QwQ-32B.jinja"] is None  # always thinks
    assert control["meta-llama-Llama-3.1-8B-Instruct.jinja"] is None


@pytest.mark.parametrize(("name", "opens"), [
    ("Qwen-QwQ-32B.jinja", True), ("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", True),
    ("Qwen3.5-4B.jinja", True), ("Qwen-Qwen3-0.6B.jinja", False),
])
def test_templates_that_open_the_think_block_start_the_stream_in_thinking(name: str, opens: bool) -> None:
    prompt = fmt(name).build([Message("user", "Hi")], GenParams(), lambda _t: [])
    chunk = prompt.stream.feed("Let me see. ")
    assert chunk is not None and (chunk.thinking == "Let me see. ") is opens

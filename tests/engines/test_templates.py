"""Chat templates come from the model file and are untrusted: they render in a sandbox."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from support.gguf_edit import with_string_metadata

from assistant.core.gguf_meta import read_gguf
from assistant.core.types import GenParams, LoadOptions, Message, ModelRef
from assistant.engines import templates
from assistant.engines.llamacpp import LlamaCppEngine
from assistant.errors import ChatTemplateError


# the payload of CVE-2024-34359 (llama-cpp-python rendered GGUF templates unsandboxed)
def exploit(marker: Path) -> str:
    return (
        "{% for x in ().__class__.__base__.__subclasses__() %}"
        "{% if 'warning' in x.__name__ %}"
        "{{ x()._module.__builtins__['__import__']('os').system('touch " + str(marker) + "') }}"
        "{% endif %}{% endfor %}"
    )


def self_globals(marker: Path) -> str:
    return "{{ self.__init__.__globals__.__builtins__.__import__('os').system('touch " + str(marker) + "') }}"


@pytest.mark.parametrize("payload", [exploit, self_globals])
def test_hostile_template_is_blocked_and_runs_nothing(tmp_path: Path, payload) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "pwned"
    with pytest.raises(ChatTemplateError, match="tried to run code|failed"):
        templates.render(payload(marker), [Message("user", "hi")])
    assert not marker.exists()


def test_gguf_with_hostile_template_fails_safely_at_load(gemma_path: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    bad = with_string_metadata(gemma_path, tmp_path / "evil.gguf", {"tokenizer.chat_template": exploit(marker)})
    assert read_gguf(bad).chat_template == exploit(marker)
    engine = LlamaCppEngine()
    with pytest.raises(ChatTemplateError) as err:
        engine.load(ModelRef(bad, "gguf"), LoadOptions(n_ctx=512, n_threads=2))
    assert "malicious" in str(err.value) and "override" in str(err.value)
    assert not marker.exists()
    engine.unload()


def test_template_from_the_model_file_is_used(gemma_path: Path, tmp_path: Path) -> None:
    own = "{% for m in messages %}<<{{ m['role'] }}>>{{ m['content'] }}{% endfor %}<<assistant>>"
    path = with_string_metadata(gemma_path, tmp_path / "own.gguf", {"tokenizer.chat_template": own})
    engine = LlamaCppEngine()
    engine.load(ModelRef(path, "gguf"), LoadOptions(n_ctx=512, n_threads=2))
    try:
        assert engine.render_prompt([Message("user", "hi")]) == "<<user>>hi<<assistant>>"
        chunks = list(engine.stream_chat([Message("user", "hi")], GenParams(max_tokens=5), threading.Event()))
        # the answer was generated from the file's template: its prompt is that rendering, token for token
        assert chunks[-1].usage is not None
        assert chunks[-1].usage.prompt_tokens == len(engine.tokenize("<<user>>hi<<assistant>>", add_bos=True))
    finally:
        engine.unload()


def test_override_beats_the_file_and_fallback_by_architecture(gemma_engine: LlamaCppEngine, gemma_path: Path) -> None:
    # the Gemma GGUF carries no template: the gemma fallback is used, with the system prompt folded in
    prompt = gemma_engine.render_prompt([Message("system", "S"), Message("user", "U")])
    assert prompt == "<bos><start_of_turn>user\nS\n\nU<end_of_turn>\n<start_of_turn>model\n"
    # BOS is written by the template, so it is not added a second time
    tokens = gemma_engine.prompt_tokens([Message("user", "U")])
    assert tokens.count(tokens[0]) == 1
    e = LlamaCppEngine()
    e.load(ModelRef(gemma_path, "gguf"), LoadOptions(n_ctx=512, n_threads=2, chat_template=templates.CHATML))
    try:
        assert e.render_prompt([Message("user", "U")]).startswith("<|im_start|>user\nU")
    finally:
        e.unload()


def test_fallbacks() -> None:
    assert templates.pick_fallback("qwen3") is templates.CHATML
    assert templates.pick_fallback("gemma3") is templates.GEMMA
    assert templates.pick_fallback("llama", {"<|eot_id|>"}) is templates.LLAMA3
    assert templates.pick_fallback("llama", {"[INST]"}) is templates.MISTRAL
    assert templates.pick_fallback("somethingnew") is templates.CHATML


def test_raise_exception_in_a_template_is_a_clear_error() -> None:
    with pytest.raises(ChatTemplateError, match="roles must alternate"):
        templates.render("{{ raise_exception('roles must alternate') }}", [Message("user", "x")])


def test_image_places_split_markup_only_and_match_the_images() -> None:
    import pytest as _pytest

    from assistant.engines.templates import MEDIA_MARKER, image_places
    from assistant.errors import EngineError

    pieces = [(f"<u>{MEDIA_MARKER}look", True), (f"typed {MEDIA_MARKER}", False), (f"{MEDIA_MARKER}</u>", True)]
    assert list(image_places(pieces, ["a.png", "b.png"])) == [
        ("<u>", True, False), ("a.png", True, True), ("look", True, False),
        (f"typed {MEDIA_MARKER}", False, False), ("b.png", True, True), ("</u>", True, False)]
    with _pytest.raises(EngineError, match="more image places"):
        list(image_places(pieces, ["a.png"]))
    with _pytest.raises(EngineError, match="left out 1 of"):
        list(image_places(pieces, ["a.png", "b.png", "c.png"]))

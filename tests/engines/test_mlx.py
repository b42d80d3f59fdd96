"""The MLX engine end to end: real mlx-lm on the CPU with a tiny random llama model
(built by mlx_tiny.py). Its text is noise, but it is deterministic noise, which is
all the cache-reuse checks need: a corrupt cache would change the greedy answer."""

from __future__ import annotations

import json
import shutil
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("mlx_lm")

from assistant.core.types import Chunk, GenParams, LoadOptions, Message, ModelRef  # noqa: E402
from assistant.engines.mlx import MlxEngine  # noqa: E402
from assistant.errors import (  # noqa: E402
    ChatTemplateError,
    EngineError,
    EngineUnavailableError,
    ModelFormatError,
    ModelNotFoundError,
    PromptTooLongError,
)

sys.path.insert(0, str(Path(__file__).parent))
from mlx_tiny import build_tiny_model  # noqa: E402

# repeat_penalty stays on: the engine must give the same answer with and without reuse
GREEDY = GenParams(max_tokens=12, temperature=0.0, repeat_penalty=1.1, seed=0)
SYSTEM = Message(
    "system",
    "You are a helpful assistant on a private computer. Answer questions about cooking, "
    "travel, programming, history and science. Keep answers short and friendly, and say "
    "so when you do not know. The weather today is sunny with a light breeze.",
)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("mlx") / "tiny-llama")


def new_engine(path: Path, **options) -> MlxEngine:  # type: ignore[no-untyped-def]
    engine = MlxEngine()
    engine.load(ModelRef(path, "mlx"), LoadOptions(**{"n_ctx": 1024, **options}))
    return engine


@pytest.fixture(scope="module")
def engine(tiny_model: Path):  # type: ignore[no-untyped-def]
    e = new_engine(tiny_model)
    yield e
    e.unload()


def collect(engine: MlxEngine, messages: list[Message], params: GenParams = GREEDY) -> tuple[str, list[Chunk]]:
    chunks = list(engine.stream_chat(messages, params, threading.Event()))
    return "".join(c.text for c in chunks), chunks


def cache_is_consistent(engine: MlxEngine) -> bool:
    return engine._cache_offset() == len(engine._cache_tokens)


def test_streams_text_with_usage_and_timings(engine: MlxEngine) -> None:
    messages = [Message("user", "Hello! What is the capital of France?")]
    text, chunks = collect(engine, messages)
    final = chunks[-1]
    assert final.done and all(not c.done for c in chunks[:-1])
    assert len(chunks) > 2 and all(isinstance(c.text, str) for c in chunks)
    assert text
    assert final.usage is not None and final.timings is not None
    assert final.usage.prompt_tokens == engine.count_tokens(messages) > 0
    assert final.finish_reason in ("length", "stop")
    assert 0 < final.usage.completion_tokens <= GREEDY.max_tokens
    if final.finish_reason == "length":
        assert final.usage.completion_tokens == GREEDY.max_tokens
    t = final.timings
    assert 0 < t.prompt_s <= t.ttft_s <= t.total_s and t.decode_s > 0
    assert t.decode_tokens_per_s(final.usage.completion_tokens) > 0
    # the cache holds exactly the prompt and every generated token
    assert len(engine._cache_tokens) == final.usage.prompt_tokens + final.usage.completion_tokens
    assert cache_is_consistent(engine)
    assert engine.name == "mlx" and engine.backend == "MLX"


def test_context_length_is_capped_by_the_model(tiny_model: Path, engine: MlxEngine) -> None:
    assert engine.context_length == 1024
    big = new_engine(tiny_model, n_ctx=100_000)
    assert big.context_length == 2048  # max_position_embeddings


def test_cancel_mid_answer_stops_at_once(engine: MlxEngine) -> None:
    cancel = threading.Event()
    got = []
    params = GenParams(max_tokens=200, temperature=0.8, seed=3)
    for chunk in engine.stream_chat([Message("user", "Tell me a long story.")], params, cancel):
        got.append(chunk)
        if len(got) == 3:
            cancel.set()
    final = got[-1]
    assert final.done and final.finish_reason == "cancelled"
    assert final.usage is not None and 3 <= final.usage.completion_tokens <= 6
    assert cache_is_consistent(engine)


def test_cancel_before_start_yields_only_the_end(engine: MlxEngine) -> None:
    cancel = threading.Event()
    cancel.set()
    chunks = list(engine.stream_chat([Message("user", "Hi")], GREEDY, cancel))
    assert len(chunks) == 1 and chunks[0].done and chunks[0].finish_reason == "cancelled"
    assert chunks[0].usage is not None and chunks[0].usage.completion_tokens == 0
    assert cache_is_consistent(engine)


def test_follow_up_turn_reuses_the_cache_and_matches_a_fresh_engine(tiny_model: Path) -> None:
    warm = new_engine(tiny_model)
    turn1 = [SYSTEM, Message("user", "Which language is good for a first program?")]
    answer1, chunks1 = collect(warm, turn1)
    assert chunks1[-1].usage is not None and chunks1[-1].usage.cached_tokens == 0
    turn2 = turn1 + [Message("assistant", answer1), Message("user", "Why?")]
    answer2, chunks2 = collect(warm, turn2)
    usage = chunks2[-1].usage
    assert usage is not None and usage.cached_tokens > 0
    assert usage.evaluated_prompt_tokens < usage.prompt_tokens / 3
    fresh_answer, fresh_chunks = collect(new_engine(tiny_model), turn2)
    assert fresh_chunks[-1].usage is not None and fresh_chunks[-1].usage.cached_tokens == 0
    assert answer2 == fresh_answer and answer2

    # a third turn on top of a reused cache is still right
    turn3 = turn2 + [Message("assistant", answer2), Message("user", "Thanks. And a second one?")]
    answer3, chunks3 = collect(warm, turn3)
    assert chunks3[-1].usage is not None and chunks3[-1].usage.cached_tokens >= usage.prompt_tokens - 1
    assert answer3 == collect(new_engine(tiny_model), turn3)[0]


def test_regenerate_and_edited_history_trim_the_cache(tiny_model: Path) -> None:
    warm = new_engine(tiny_model)
    messages = [SYSTEM, Message("user", "Tell me about cats.")]
    first, chunks = collect(warm, messages)
    # the same prompt again: the cached answer is trimmed away, one prompt token is fed
    again, chunks2 = collect(warm, messages)
    usage = chunks2[-1].usage
    assert usage is not None and usage.cached_tokens == usage.prompt_tokens - 1
    assert again == first
    # an earlier message edited: only the part before the edit is reused
    edited = [SYSTEM, Message("user", "Tell me about dogs.")]
    answer, chunks3 = collect(warm, edited)
    usage3 = chunks3[-1].usage
    assert usage3 is not None and 0 < usage3.cached_tokens < usage3.prompt_tokens - 3
    assert answer == collect(new_engine(tiny_model), edited)[0]
    assert cache_is_consistent(warm)


def test_stop_string_is_not_emitted_and_the_cache_stays_right(tiny_model: Path) -> None:
    warm = new_engine(tiny_model)
    messages = [SYSTEM, Message("user", "Say something about the weather.")]
    full, chunks = collect(warm, messages)
    pieces = [c.text for c in chunks if c.text]
    stop = pieces[3]  # stop on the fourth piece of text
    cut = full.index(stop)
    text, chunks2 = collect(warm, messages, GenParams(**{**GREEDY.__dict__, "stop": [stop]}))
    assert chunks2[-1].finish_reason == "stop"
    assert text == full[:cut] and stop not in text
    assert cache_is_consistent(warm)
    follow = messages + [Message("assistant", text), Message("user", "More?")]
    assert collect(warm, follow)[0] == collect(new_engine(tiny_model), follow)[0]


def test_end_of_turn_token_ends_with_stop_and_is_tracked(tiny_model: Path) -> None:
    warm = new_engine(tiny_model)
    messages = [SYSTEM, Message("user", "Hello there.")]
    _, chunks = collect(warm, messages)
    n_prompt = chunks[-1].usage.prompt_tokens  # type: ignore[union-attr]
    answer_tokens = warm._cache_tokens[n_prompt:]
    # pretend the 5th answer token is this model's end of turn (random weights never pick <|im_end|>)
    end = answer_tokens[4]
    warm._tokenizer.eos_token_ids = set(warm._tokenizer.eos_token_ids) | {end}
    _, chunks2 = collect(warm, messages)
    final = chunks2[-1]
    assert final.finish_reason == "stop"
    assert final.usage is not None and final.usage.completion_tokens == answer_tokens.index(end)
    # the end token went into the cache too, and is tracked
    assert len(warm._cache_tokens) == n_prompt + final.usage.completion_tokens + 1
    assert cache_is_consistent(warm)


def test_stream_from_another_thread_is_refused(engine: MlxEngine) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            engine.stream_chat([Message("user", "Hi")], GREEDY, threading.Event())
        except BaseException as exc:  # noqa: BLE001 - handed back to the test thread
            errors.append(exc)

    t = threading.Thread(target=run)
    t.start()
    t.join()
    assert len(errors) == 1 and isinstance(errors[0], EngineError)
    assert "thread" in str(errors[0])


def test_prompt_too_long(tiny_model: Path) -> None:
    small = new_engine(tiny_model, n_ctx=64)
    messages = [Message("user", "The quick brown fox jumps over the lazy dog. " * 20)]
    needed = small.count_tokens(messages)
    assert needed > 64
    with pytest.raises(PromptTooLongError) as info:
        small.stream_chat(messages, GREEDY, threading.Event())
    assert info.value.limit == 64 and info.value.needed == needed
    assert "64" in str(info.value) and str(needed) in str(info.value)


def test_chat_template_override_and_hostile_template(tiny_model: Path, tmp_path: Path) -> None:
    plain = new_engine(tiny_model, chat_template="{% for m in messages %}[{{ m['content'] }}]{% endfor %}")
    assert plain.render_prompt([Message("user", "hi")]) == "[hi]"

    hostile = tmp_path / "hostile"
    shutil.copytree(tiny_model, hostile)
    cfg_file = hostile / "tokenizer_config.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["chat_template"] = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    cfg_file.write_text(json.dumps(cfg))
    with pytest.raises(ChatTemplateError):
        new_engine(hostile)


@pytest.mark.parametrize(
    ("remove", "error", "mentions"),
    [
        ("config.json", ModelFormatError, "config.json"),
        ("model.safetensors", ModelFormatError, "safetensors"),
        ("tokenizer.json", ModelFormatError, "tokenizer"),
    ],
)
def test_incomplete_folders(tiny_model: Path, tmp_path: Path, remove: str, error: type, mentions: str) -> None:
    broken = tmp_path / "broken-model"
    shutil.copytree(tiny_model, broken)
    (broken / remove).unlink()
    with pytest.raises(error) as info:
        MlxEngine().load(ModelRef(broken, "mlx"), LoadOptions())
    assert str(broken) in str(info.value) and mentions in str(info.value)
    assert "again" in info.value.hint  # what to do: download it again


def test_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelNotFoundError) as info:
        MlxEngine().load(ModelRef(missing, "mlx"), LoadOptions())
    assert str(missing) in str(info.value)


def test_damaged_weights(tiny_model: Path, tmp_path: Path) -> None:
    broken = tmp_path / "damaged"
    shutil.copytree(tiny_model, broken)
    weights = broken / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelFormatError) as info:
        MlxEngine().load(ModelRef(broken, "mlx"), LoadOptions())
    assert str(broken) in str(info.value)


def test_missing_mlx_is_engine_unavailable(tiny_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlx_lm", None)  # import now raises ImportError
    with pytest.raises(EngineUnavailableError) as info:
        MlxEngine().load(ModelRef(tiny_model, "mlx"), LoadOptions())
    assert "Apple Silicon" in str(info.value) and "mlx-lm" in str(info.value)


def test_unload_drops_the_model(tiny_model: Path) -> None:
    e = new_engine(tiny_model)
    collect(e, [Message("user", "Hi")])
    e.unload()
    assert not e.loaded
    with pytest.raises(EngineError):
        e.stream_chat([Message("user", "Hi")], GREEDY, threading.Event())


def test_images_on_a_text_model_are_refused_not_dropped(engine: MlxEngine, tmp_path: Path) -> None:
    from assistant.errors import ImageError

    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(ImageError, match="cannot see images"):
        collect(engine, [Message("user", "What is this?", images=[str(image)])])
    assert collect(engine, [Message("user", "Hi")])[0] is not None

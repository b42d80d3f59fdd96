"""MLX engine on mlx-lm (Apple Silicon; `mlx[cpu]` also runs it on Linux for tests).

Threading: MLX streams are bound to the thread that made them, so load and
generation must happen on one thread. The caller keeps one long-lived thread per
engine (the GUI's inference worker does); stream_chat from another thread raises
EngineError rather than failing somewhere inside MLX. Cancel may be set from any
thread.

Cache reuse: the engine keeps one prompt cache and the token ids it holds. A new
request keeps the longest common prefix and feeds only what follows it, so turn N
of a chat costs the new message, not the whole history. mlx-lm's generate_step
feeds each token into the cache before yielding it (it pipelines one step ahead),
so after a request the cache holds the prompt plus every token stream_generate
handed us, end-of-turn token included; that is exactly what is tracked.

Vision: a folder with a vision_config loads with mlx-vlm where it is installed
(mlx_vision.py); without it, or for a text model, images are refused (ImageError).
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from assistant.core.images import no_vision_error
from assistant.core.types import Chunk, GenParams, LoadOptions, Message, ModelRef, Timings, Usage
from assistant.engines import mlx_vision, templates
from assistant.engines.base import ensure_prompt_fits, refuse_grammar, reusable_prefix
from assistant.engines.prompting import AnswerStream, ChatFormat, Prompt
from assistant.engines.stops import StopMatcher
from assistant.engines.thinking import ThinkingStream
from assistant.errors import (
    ChatTemplateError,
    EngineError,
    EngineUnavailableError,
    GrammarError,
    ModelFormatError,
    ModelNotFoundError,
    UnsupportedArchitectureError,
)

log = logging.getLogger(__name__)

# Repetition penalty looks at this many recent tokens (llama.cpp's engine uses the same).
_REPEAT_WINDOW = 64
# Any one of these is enough for transformers' AutoTokenizer to build a tokenizer.
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt")
_REDOWNLOAD = "Download the model again from the model library."


def _import_mlx() -> tuple[Any, Any]:
    try:
        import mlx.core as mx
        import mlx_lm
    except (ImportError, OSError) as exc:
        raise EngineUnavailableError(
            f"The MLX engine is not available on this computer ({exc}).",
            "MLX runs on Apple Silicon Macs (M1 or later). There, install it with: "
            "pip install mlx-lm. On other computers use a GGUF model with llama.cpp.",
        ) from exc
    return mx, mlx_lm


def check_folder(path: Path) -> dict[str, Any]:
    """Check that `path` looks like a complete MLX model folder; return its config.

    Done before mlx-lm sees the folder: mlx-lm treats a missing path as a Hugging
    Face repo id and would try to download it, and its own errors do not say what
    to do about a half-downloaded model.
    """
    if not path.exists():
        raise ModelNotFoundError(
            f"The model folder {path} does not exist.",
            "It may have been moved or deleted. " + _REDOWNLOAD,
        )
    if not path.is_dir():
        raise ModelFormatError(
            f"{path} is a file, but an MLX model is a folder (config.json, weights, tokenizer).",
            "Choose the model's folder, or use a GGUF file with the llama.cpp engine.",
        )
    missing: list[str] = []
    config_file = path / "config.json"
    if not config_file.is_file():
        missing.append("config.json")
    weights = sorted(path.glob("model*.safetensors"))
    index_file = path / "model.safetensors.index.json"
    if index_file.is_file():
        # a sharded model: every shard the index names must be there
        try:
            index = json.loads(index_file.read_text(encoding="utf-8"))
            shards = sorted(set(index.get("weight_map", {}).values()))
        except (OSError, ValueError, AttributeError, TypeError, RecursionError) as exc:
            raise ModelFormatError(
                f"The weight index of the model in {path} is damaged ({exc}).", _REDOWNLOAD
            ) from exc
        missing += [s for s in shards if not (path / s).is_file()]
    elif not weights:
        missing.append("the weights (model*.safetensors)")
    if not any((path / name).is_file() for name in _TOKENIZER_FILES):
        missing.append("the tokenizer (tokenizer.json)")
    if missing:
        raise ModelFormatError(
            f"The model folder {path} is incomplete: missing {', '.join(missing)}.",
            "The download may have been interrupted. " + _REDOWNLOAD,
        )
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ModelFormatError(f"config.json in {path} is not readable JSON ({exc}).", _REDOWNLOAD) from exc
    if not isinstance(config, dict):
        raise ModelFormatError(f"config.json in {path} is not a model configuration.", _REDOWNLOAD)
    return config


def _tokenizer_template(tokenizer: Any) -> str | None:
    """The chat template the tokenizer carries (tokenizer_config.json or chat_template.jinja)."""
    source = getattr(tokenizer, "chat_template", None)
    if isinstance(source, dict):
        source = source.get("default")
    elif isinstance(source, list):  # [{"name": ..., "template": ...}]
        named = {t.get("name"): t.get("template") for t in source if isinstance(t, dict)}
        source = named.get("default")
    return source if isinstance(source, str) and source.strip() else None


def _special_texts(tokenizer: Any) -> list[str]:
    hf = getattr(tokenizer, "_tokenizer", tokenizer)
    texts = {str(t) for t in getattr(hf, "all_special_tokens", []) or []}
    for added in (getattr(hf, "added_tokens_decoder", None) or {}).values():
        if getattr(added, "special", False):
            texts.add(str(added.content))
    return sorted((t for t in texts if t), key=len, reverse=True)


def _max_positions(config: dict[str, Any]) -> int:
    # multimodal checkpoints keep the language model's settings under text_config
    for cfg in (config, config.get("text_config") or {}):
        value = cfg.get("max_position_embeddings") if isinstance(cfg, dict) else None
        if isinstance(value, int) and value > 0:
            return value
    return 0


class MlxEngine:
    name = "mlx"

    def __init__(self) -> None:
        self._mx: Any = None
        self._lib: Any = None
        self._model: Any = None
        self._tokenizer: Any = None  # mlx_lm TokenizerWrapper
        self._path: Path | None = None
        self._n_ctx = 0
        self._template = ""  # the override, the tokenizer's own, or a fallback
        self._own_template = False  # a fallback of ours (not the model's template)
        self._format: ChatFormat | None = None
        self._specials: list[str] = []
        self._cache: list[Any] | None = None
        self._cache_tokens: list[int] = []  # tokens whose K/V are in the cache, in order
        self._thread_id: int | None = None
        self._vision: mlx_vision.MlxVision | None = None  # mlx-vlm: the model sees images
        self._sees = False  # the folder is a vision model's (even where mlx-vlm is missing)

    # -- properties ---------------------------------------------------------
    @property
    def context_length(self) -> int:
        return self._n_ctx

    @property
    def backend(self) -> str:
        return "MLX"

    @property
    def loaded(self) -> bool:
        return self._model is not None

    # -- load / unload --------------------------------------------------------
    def load(self, model: ModelRef, options: LoadOptions) -> None:
        if self._model is not None:
            self.unload()
        path = Path(model.path)
        config = check_folder(path)
        mx, mlx_lm = _import_mlx()
        vision = None
        if mlx_vision.wants_vision(config) and mlx_vision.available():
            vision = mlx_vision.MlxVision.load(path, config)
            mdl, tokenizer = vision.model, vision.tokenizer()
        try:
            if vision is None:
                mdl, tokenizer = mlx_lm.load(str(path))
        except FileNotFoundError as exc:
            raise ModelFormatError(f"The model in {path} is incomplete: {exc}", _REDOWNLOAD) from exc
        except ValueError as exc:
            text = str(exc)
            if "not supported" in text:
                arch = str(config.get("model_type", "unknown"))
                raise UnsupportedArchitectureError(
                    f"The model in {path} uses the '{arch}' architecture, which this "
                    "version of mlx-lm does not know.",
                    "Update mlx-lm (pip install -U mlx-lm), or choose another model.",
                    architecture=arch,
                ) from exc
            raise ModelFormatError(f"MLX could not load the model in {path}: {text}", _REDOWNLOAD) from exc
        except (OSError, RuntimeError, KeyError, TypeError) as exc:
            raise ModelFormatError(
                f"MLX could not load the model in {path}: {exc}",
                "The files may be damaged. " + _REDOWNLOAD,
            ) from exc
        self._mx, self._lib = mx, mlx_lm
        self._model, self._tokenizer = mdl, tokenizer
        self._vision = vision
        self._sees = mlx_vision.wants_vision(config)
        self._path = path
        limit = _max_positions(config)
        self._n_ctx = max(1, min(options.n_ctx, limit) if limit else options.n_ctx)
        own = _tokenizer_template(tokenizer)
        self._own_template = bool(options.chat_template) or not own
        self._template = options.chat_template or own or templates.CHATML
        self._specials = _special_texts(tokenizer)
        self._cache = None
        self._cache_tokens = []
        self._thread_id = threading.get_ident()
        if options.seed >= 0:
            mx.random.seed(options.seed)
        try:
            # renders once now, so a broken or hostile template fails at load, not mid-chat
            self._format = ChatFormat(self._template, bos_token=tokenizer.bos_token or "", eos_token=tokenizer.eos_token or "")
        except ChatTemplateError:
            self.unload()
            raise
        log.info("loaded %s with MLX%s (ctx %d)", path.name, " (vision, mlx-vlm)" if vision else "", self._n_ctx)

    def unload(self) -> None:
        self._model = self._tokenizer = self._vision = None
        self._cache = None
        self._cache_tokens = []
        self._path = None
        self._thread_id = None
        gc.collect()
        mx = self._mx
        if mx is not None and hasattr(mx, "clear_cache"):
            mx.clear_cache()  # give the freed buffers back to the system, not just to MLX

    # -- prompt -------------------------------------------------------------
    def _require_loaded(self) -> None:
        if self._model is None:
            raise EngineError("No model is loaded.", "Load a model first.")

    def build_prompt(self, messages: list[Message], params: GenParams | None = None) -> Prompt:
        self._require_loaded()
        assert self._format is not None
        if self._vision is None and any(m.images for m in messages):  # never drop images silently
            name = self._path.name if self._path else "This model"
            raise mlx_vision.needs_mlx_vlm(name) if self._sees else no_vision_error(name)
        return self._format.build(messages, params, self.specials_in)

    def specials_in(self, text: str) -> list[str]:
        """The special-token texts in `text` (the tokenizer would parse them as special tokens)."""
        return [s for s in self._specials if s in text] if text else []

    def render_prompt(self, messages: list[Message], params: GenParams | None = None) -> str:
        return self.build_prompt(messages, params).text

    def prompt_tokens(self, messages: list[Message], params: GenParams | None = None) -> list[int]:
        """The prompt's tokens; each image's tokens are negative stand-ins (mlx_vision.py)."""
        return self._encode(self.build_prompt(messages, params), messages).keys

    def _encode(self, prompt: Prompt, messages: list[Message]) -> mlx_vision.Encoded:
        tok = self._tokenizer
        hf = getattr(tok, "_tokenizer", tok)
        # templates write the special tokens themselves (BOS included); a template of ours
        # without BOS lets the tokenizer decide
        bos = tok.bos_token or ""
        add_special = self._own_template and not (bos and prompt.text.startswith(bos))

        def tokenize(text: str, markup: bool, first: bool) -> list[int]:
            if markup:
                return list(tok.encode(text, add_special_tokens=add_special and first))
            # message text: a pasted special token stays text
            return list(hf.encode(text, add_special_tokens=False, split_special_tokens=True))

        paths = [p for m in messages for p in m.images]
        if self._vision is not None:
            self._vision.notes = []
            if paths:
                return self._vision.assemble(prompt.pieces, paths, tokenize)
        out: list[int] = []
        for text, markup in prompt.pieces:
            out += tokenize(text, markup, not out)
        return mlx_vision.Encoded(out, out)

    def count_tokens(self, messages: list[Message]) -> int:
        return len(self.prompt_tokens(messages))

    # -- cache ----------------------------------------------------------------
    def _new_cache(self) -> None:
        from mlx_lm.models.cache import make_prompt_cache

        self._cache = self._vision.make_cache() if self._vision is not None else make_prompt_cache(self._model)
        self._cache_tokens = []

    def _cache_offset(self) -> int | None:
        """Tokens the cache says it holds, where its layers expose it."""
        for c in self._cache or []:
            offset = getattr(c, "offset", None)
            if isinstance(offset, int):
                return offset
        return None

    def _reuse_prefix(self, tokens: list[int]) -> int:
        """Trim the cache to its common prefix with `tokens`; return the prefix length."""
        from mlx_lm.models.cache import can_trim_prompt_cache, trim_prompt_cache

        if self._cache is None or self._cache_offset() not in (None, len(self._cache_tokens)):
            self._new_cache()
        n = reusable_prefix(self._cache_tokens, tokens)
        extra = len(self._cache_tokens) - n
        if extra > 0:
            if n > 0 and self._cache is not None and can_trim_prompt_cache(self._cache) and trim_prompt_cache(self._cache, extra) == extra:
                del self._cache_tokens[n:]
            else:
                self._new_cache()
                n = 0
        return n

    def _settle_cache(self, tokens: list[int], consistent: bool) -> None:
        """Record what the cache holds after a request, or drop it if unknown."""
        offset = self._cache_offset()
        if not consistent or (offset is not None and offset != len(tokens)):
            if consistent:
                log.warning("MLX cache holds %s tokens, expected %d; starting a fresh one", offset, len(tokens))
            self._cache = None
            self._cache_tokens = []
            return
        self._cache_tokens = tokens

    # -- generation ---------------------------------------------------------
    def _check_thread(self) -> None:
        if self._thread_id is not None and threading.get_ident() != self._thread_id:
            raise EngineError(
                "The MLX engine was asked to generate on a different thread from the one that loaded the model.",
                "MLX needs load and generation on one thread: keep one worker thread per engine.",
            )

    def _processors(self, params: GenParams, prefix: list[int]) -> list[Any] | None:
        if not params.repeat_penalty or params.repeat_penalty == 1.0:
            return None
        from mlx_lm.sample_utils import make_logits_processors

        base = make_logits_processors(
            repetition_penalty=params.repeat_penalty, repetition_context_size=_REPEAT_WINDOW
        )
        if not prefix:
            return base
        # generate_step only sees the tokens fed in this call; put back the tail of the
        # reused prefix so the penalty (and so the answer) is the same as without reuse
        mx = self._mx
        head = mx.array(prefix[-_REPEAT_WINDOW:])

        def with_head(proc: Any) -> Any:
            return lambda toks, logits: proc(mx.concatenate([head, toks.astype(head.dtype)]), logits)

        return [with_head(p) for p in base]

    def stream_chat(self, messages: list[Message], params: GenParams, cancel: threading.Event) -> Iterator[Chunk]:
        self._require_loaded()
        self._check_thread()
        refuse_grammar(params, "The MLX engine")
        t0 = time.perf_counter()
        prompt = self.build_prompt(messages, params)
        if prompt.grammar is not None and not prompt.triggers:
            raise GrammarError("The MLX engine cannot force a tool call (tool_choice required or a named tool).",
                               "Use tool_choice auto, or a GGUF model (llama.cpp).")
        enc = self._encode(prompt, messages)
        ensure_prompt_fits(len(enc.keys), self._n_ctx)
        return self._generate(enc, params, cancel, t0, prompt.stream)

    def _generate(
        self, enc: mlx_vision.Encoded, params: GenParams, cancel: threading.Event, t0: float, split: ThinkingStream
    ) -> Iterator[Chunk]:
        from mlx_lm.sample_utils import make_sampler

        mx, lib = self._mx, self._lib
        tokens = enc.keys  # what the cache is compared by (an image's tokens: stand-ins from its hash)
        cached = self._reuse_prefix(tokens)
        if self._vision is not None and cached and self._vision.needs_full_prefill(enc, cached):
            self._new_cache()  # an image in the suffix: its features go in with the whole prompt
            cached = 0
        usage = Usage(prompt_tokens=len(tokens), cached_tokens=cached)
        timings = Timings()
        if cancel.is_set():
            timings.total_s = time.perf_counter() - t0
            yield Chunk(done=True, finish_reason="cancelled", usage=usage, timings=timings)
            return
        room = self._n_ctx - len(tokens)
        max_tokens = min(params.max_tokens, room) if params.max_tokens > 0 else room
        if params.seed is not None and params.seed >= 0:
            mx.random.seed(params.seed)
        sampler = make_sampler(
            temp=max(params.temperature, 0.0),
            top_p=params.top_p,
            min_p=params.min_p,
            top_k=params.top_k,
        )
        processors = self._processors(params, enc.ids[:cached])
        if self._vision is not None:
            stream = self._vision.stream(enc, cached, self._tokenizer, max_tokens=max_tokens, sampler=sampler,
                                         logits_processors=processors, prompt_cache=self._cache or [])
        else:
            stream = lib.stream_generate(self._model, self._tokenizer, mx.array(tokens[cached:]), max_tokens=max_tokens,
                                         sampler=sampler, logits_processors=processors, prompt_cache=self._cache)
        stops = StopMatcher(params.stop)
        generated: list[int] = []
        finish = "length"
        eos = False
        in_mlx = False
        started = False  # the first next() feeds the whole prompt suffix
        t_gen = time.perf_counter()
        t_first = 0.0
        try:
            while True:
                if cancel.is_set():
                    finish = "cancelled"
                    break
                in_mlx = started = True
                resp = next(stream, None)
                in_mlx = False
                if resp is None:
                    break
                generated.append(int(resp.token))
                if len(generated) == 1:
                    t_first = time.perf_counter()
                    timings.ttft_s = t_first - t0
                    timings.prompt_s = t_first - t_gen
                text = stops.feed(resp.text)
                piece = split.feed(text) if text else None
                if piece is not None:
                    yield piece
                if stops.stopped:
                    finish = "stop"
                    break
                if resp.finish_reason is not None:
                    finish = "stop" if resp.finish_reason == "stop" else "length"
                    eos = resp.finish_reason == "stop"
                    break
            tail = stops.flush()
            for piece in (split.feed(tail) if tail else None, split.flush()):
                if piece is not None:
                    yield piece
            end = time.perf_counter()
            # the end-of-turn token is in the cache but is not part of the answer
            usage.completion_tokens = len(generated) - (1 if eos else 0)
            timings.total_s = end - t0
            timings.decode_s = end - t_first if generated else 0.0
            last = Chunk(done=True, finish_reason=finish, usage=usage, timings=timings)  # type: ignore[arg-type]
            if isinstance(split, AnswerStream):
                split.finish(last)
            yield last
        except (RuntimeError, ValueError, MemoryError) as exc:
            raise EngineError(f"MLX failed while generating: {exc}", "Try again, or start a new chat.") from exc
        finally:
            stream.close()
            # A failure inside mlx-lm leaves the cache half-written; anywhere else every
            # token we received had been fed into it.
            fed = tokens + generated if started else tokens[:cached]
            self._settle_cache(fed, consistent=not in_mlx)

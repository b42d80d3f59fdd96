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
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from assistant.core.types import Chunk, GenParams, LoadOptions, Message, ModelRef, Timings, Usage
from assistant.engines import templates
from assistant.engines.base import ensure_prompt_fits, reusable_prefix
from assistant.engines.stops import StopMatcher
from assistant.errors import (
    ChatTemplateError,
    EngineError,
    EngineUnavailableError,
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
        self._template: str | None = None  # override or fallback; None: the tokenizer's own
        self._cache: list[Any] | None = None
        self._cache_tokens: list[int] = []  # tokens whose K/V are in the cache, in order
        self._thread_id: int | None = None

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
        try:
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
        self._path = path
        limit = _max_positions(config)
        self._n_ctx = max(1, min(options.n_ctx, limit) if limit else options.n_ctx)
        if options.chat_template:
            self._template = options.chat_template
        elif getattr(tokenizer, "has_chat_template", False):
            self._template = None
        else:
            self._template = templates.CHATML
        self._cache = None
        self._cache_tokens = []
        self._thread_id = threading.get_ident()
        if options.seed >= 0:
            mx.random.seed(options.seed)
        try:
            # render once now so a broken or hostile template fails at load, not mid-chat
            self.render_prompt([Message("user", "hi")])
        except ChatTemplateError:
            self.unload()
            raise
        log.info("loaded %s with MLX (ctx %d)", path.name, self._n_ctx)

    def unload(self) -> None:
        self._model = self._tokenizer = None
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

    def render_prompt(self, messages: list[Message]) -> str:
        self._require_loaded()
        tok = self._tokenizer
        if self._template is not None:
            return templates.render(
                self._template,
                messages,
                bos_token=tok.bos_token or "",
                eos_token=tok.eos_token or "",
            )
        from jinja2 import TemplateError
        from jinja2.exceptions import SecurityError

        msgs = [{"role": m.role, "content": m.content} for m in messages]
        try:
            # transformers renders in its own ImmutableSandboxedEnvironment
            text = tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
        except SecurityError as exc:
            raise ChatTemplateError(
                "The model's chat template tried to run code and was blocked. "
                "The model files may be malicious.",
                "Delete this model, or set a chat template override for it in its settings.",
            ) from exc
        except (TemplateError, TypeError, ValueError, AttributeError, KeyError, IndexError) as exc:
            raise ChatTemplateError(
                f"The model's chat template failed: {exc}",
                "Set a chat template override for this model in its settings.",
            ) from exc
        if not isinstance(text, str):
            raise ChatTemplateError(
                "The model's chat template did not produce text.",
                "Set a chat template override for this model in its settings.",
            )
        return text

    def prompt_tokens(self, messages: list[Message]) -> list[int]:
        text = self.render_prompt(messages)
        tok = self._tokenizer
        if self._template is None:
            # Hugging Face templates write the special tokens themselves
            add_special = False
        else:
            # ours write BOS where the family needs it; otherwise let the tokenizer decide
            add_special = not tok.bos_token or not text.startswith(tok.bos_token)
        return list(tok.encode(text, add_special_tokens=add_special))

    def count_tokens(self, messages: list[Message]) -> int:
        return len(self.prompt_tokens(messages))

    # -- cache ----------------------------------------------------------------
    def _new_cache(self) -> None:
        from mlx_lm.models.cache import make_prompt_cache

        self._cache = make_prompt_cache(self._model)
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
        t0 = time.perf_counter()
        tokens = self.prompt_tokens(messages)
        ensure_prompt_fits(len(tokens), self._n_ctx)
        return self._generate(tokens, params, cancel, t0)

    def _generate(self, tokens: list[int], params: GenParams, cancel: threading.Event, t0: float) -> Iterator[Chunk]:
        from mlx_lm.sample_utils import make_sampler

        mx, lib = self._mx, self._lib
        cached = self._reuse_prefix(tokens)
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
        stream = lib.stream_generate(
            self._model,
            self._tokenizer,
            mx.array(tokens[cached:]),
            max_tokens=max_tokens,
            sampler=sampler,
            logits_processors=self._processors(params, tokens[:cached]),
            prompt_cache=self._cache,
        )
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
                if text:
                    yield Chunk(text=text)
                if stops.stopped:
                    finish = "stop"
                    break
                if resp.finish_reason is not None:
                    finish = "stop" if resp.finish_reason == "stop" else "length"
                    eos = resp.finish_reason == "stop"
                    break
            tail = stops.flush()
            if tail:
                yield Chunk(text=tail)
            end = time.perf_counter()
            # the end-of-turn token is in the cache but is not part of the answer
            usage.completion_tokens = len(generated) - (1 if eos else 0)
            timings.total_s = end - t0
            timings.decode_s = end - t_first if generated else 0.0
            yield Chunk(done=True, finish_reason=finish, usage=usage, timings=timings)  # type: ignore[arg-type]
        except (RuntimeError, ValueError, MemoryError) as exc:
            raise EngineError(f"MLX failed while generating: {exc}", "Try again, or start a new chat.") from exc
        finally:
            stream.close()
            # A failure inside mlx-lm leaves the cache half-written; anywhere else every
            # token we received had been fed into it.
            fed = tokens + generated if started else tokens[:cached]
            self._settle_cache(fed, consistent=not in_mlx)

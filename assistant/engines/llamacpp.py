"""llama.cpp engine on llama-cpp-python's low-level API.

Why not `Llama.create_completion`: its per-token path does Python work we do not
need (re-detokenizing the whole completion for stop checks, bookkeeping arrays).
Here each step is one llama_decode of one token, llama.cpp's own sampler chain, and
one token_to_piece, so Python adds almost nothing per token (bench/engine_throughput.py).

Cache reuse: the tokens in the KV cache are remembered. A new request keeps the
longest common prefix and evaluates only what follows it, so turn N of a chat costs
the new message, not the whole history. The SWA cache is kept full-size so that
the prefix stays usable on sliding-window models such as Gemma 3.
"""

from __future__ import annotations

import codecs
import ctypes
import gc
import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

import psutil

from assistant.core import ggml_backends
from assistant.core.gguf_meta import GgufInfo, read_gguf, shard_paths
from assistant.core.types import Chunk, GenParams, LoadOptions, Message, ModelRef, Timings, Usage
from assistant.engines import llamacpp_log, safe_mode, templates
from assistant.engines.base import ensure_prompt_fits, reusable_prefix
from assistant.engines.prompting import ChatFormat, Prompt
from assistant.engines.stops import StopMatcher
from assistant.engines.thinking import ThinkingStream
from assistant.errors import (
    EngineError,
    EngineUnavailableError,
    ModelFormatError,
    ModelTooLargeError,
    UnsupportedArchitectureError,
)

log = logging.getLogger(__name__)

_ALL_LAYERS = 0x7FFFFFFF
_RAM_HEADROOM = 256 * 1024 * 1024


def _import_llama_cpp():  # type: ignore[no-untyped-def]
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - it is a hard dependency
        raise EngineUnavailableError(
            "llama-cpp-python is not installed.",
            "Reinstall the app, or run: pip install llama-cpp-python",
        ) from exc
    llamacpp_log.install()
    if ggml_backends.ensure_loaded(llama_cpp) == 0:
        raise EngineUnavailableError(
            "This build of llama.cpp found no code it can run on this computer's CPU.",
            "It was built to load its CPU code at run time, and none of its CPU libraries is in "
            f"{ggml_backends.backend_dirs(llama_cpp)[0]}. Reinstall the app.",
        )
    return llama_cpp


def check_memory(info: GgufInfo, n_gpu_layers: int, total_bytes: int) -> None:
    """Refuse a model whose weights left in RAM exceed the free memory."""
    layers = info.block_count or 0
    if n_gpu_layers < 0 or (layers and n_gpu_layers >= layers):
        on_cpu = total_bytes // 10  # embeddings and output stay on the host
    elif layers and n_gpu_layers > 0:
        on_cpu = total_bytes * (layers - n_gpu_layers) // layers
    else:
        on_cpu = total_bytes
    available = psutil.virtual_memory().available
    if on_cpu + _RAM_HEADROOM > available:
        gb = 1024**3
        raise ModelTooLargeError(
            f"{info.path.name} needs about {(on_cpu + _RAM_HEADROOM) / gb:.1f} GB of memory, "
            f"but only {available / gb:.1f} GB is free.",
            f"File: {info.path}. Close other programs, or choose a smaller model or a "
            "smaller quantization (for example Q4_K_M instead of Q8_0).",
        )


class LlamaCppEngine:
    name = "llama.cpp"

    def __init__(self) -> None:
        self._lib: Any = None  # the llama_cpp module, imported at load
        self._model = None
        self._ctx = None
        self._vocab = None
        self._info: GgufInfo | None = None
        self._template = ""
        self._format: ChatFormat | None = None
        self._marker_ids: set[int] = set()  # special tokens the thinking splitter must see
        self._bos = ""
        self._eos = ""
        self._n_ctx = 0
        self._cached: list[int] = []  # tokens whose K/V are in the cache, in order
        self._piece_buf = ctypes.create_string_buffer(256)
        self._backend = "CPU"
        self.n_gpu_layers = 0
        # set by the engine's host process (engines/host.py) before load
        self.safe = safe_mode.settings(0)
        self.on_load_progress: Callable[[float], None] | None = None

    # -- properties ---------------------------------------------------------
    @property
    def context_length(self) -> int:
        return self._n_ctx

    @property
    def backend(self) -> str:
        return self._backend

    @property
    def info(self) -> GgufInfo | None:
        return self._info

    @property
    def loaded(self) -> bool:
        return self._ctx is not None

    # -- load / unload --------------------------------------------------------
    def load(self, model: ModelRef, options: LoadOptions) -> None:
        if self._model is not None:
            self.unload()
        path = Path(model.path)
        info = read_gguf(path)
        parts = shard_paths(path)
        total = sum(p.stat().st_size for p in parts if p.exists())
        missing = [p.name for p in parts if not p.exists()]
        if missing:
            raise ModelFormatError(
                f"{path.name} is split into {len(parts)} parts and some are missing: {', '.join(missing)}.",
                f"Put all parts in {path.parent}, or download the model again.",
            )
        check_memory(info, options.n_gpu_layers, total)

        lib = _import_llama_cpp()
        self._lib = lib
        mparams = lib.llama_model_default_params()
        n_gpu = safe_mode.gpu_layers(self.safe, options.n_gpu_layers, info.block_count)
        mparams.n_gpu_layers = _ALL_LAYERS if n_gpu < 0 else n_gpu
        safe_mode.apply_model_params(self.safe, mparams, lib)
        report = self.on_load_progress
        if report is not None:

            @lib.llama_progress_callback
            def _progress(fraction: float, _user: ctypes.c_void_p) -> bool:
                report(fraction)
                return True

            mparams.progress_callback = _progress  # alive until load returns
        with llamacpp_log.capture() as lines:
            mdl = lib.llama_model_load_from_file(str(path).encode("utf-8"), mparams)
        if not mdl:
            raise self._load_error(info, lines)
        self._model = mdl
        self._vocab = lib.llama_model_get_vocab(mdl)

        n_train = lib.llama_model_n_ctx_train(mdl)
        self._n_ctx = max(256, min(options.n_ctx, n_train) if n_train > 0 else options.n_ctx)
        threads = options.n_threads or (psutil.cpu_count(logical=False) or 1)
        cparams = lib.llama_context_default_params()
        cparams.n_ctx = self._n_ctx
        cparams.n_batch = min(512, self._n_ctx)
        cparams.n_ubatch = min(512, self._n_ctx)
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        cparams.no_perf = True
        if hasattr(cparams, "swa_full"):
            cparams.swa_full = True
        safe_mode.apply_context_params(self.safe, cparams, lib)
        with llamacpp_log.capture() as lines:
            ctx = lib.llama_init_from_model(mdl, cparams)
        if not ctx:
            lib.llama_model_free(mdl)
            self._model = None
            raise EngineError(
                f"llama.cpp could not create a context of {self._n_ctx} tokens for {path.name}.",
                "Lower the context length in the model's settings. " + _last_error(lines),
            )
        self._ctx = ctx
        self._info = info
        self._cached = []
        self.n_gpu_layers = n_gpu
        self._backend = _backend_name(lib) if n_gpu != 0 else "CPU"
        self._bos = self._token_text(lib.llama_vocab_bos(self._vocab))
        self._eos = self._token_text(lib.llama_vocab_eos(self._vocab))
        self._template = options.chat_template or info.chat_template or templates.pick_fallback(
            info.architecture, self._special_vocab()
        )
        # renders once now, so a broken or hostile template fails at load, not mid-chat
        self._format = ChatFormat(self._template, bos_token=self._bos, eos_token=self._eos)
        self._marker_ids = self._special_ids(self._format.markers)
        log.info("loaded %s (ctx %d, gpu layers %s, %s, %s)", path.name, self._n_ctx, n_gpu, self._backend, self.safe.describe())

    def _load_error(self, info: GgufInfo, lines: list[str]) -> Exception:
        text = "\n".join(lines)
        if "unknown model architecture" in text or "unknown architecture" in text:
            return UnsupportedArchitectureError(
                f"{info.path.name} uses the '{info.architecture}' architecture, which this "
                "version of llama.cpp does not know.",
                "Update llama-cpp-python (uv sync --upgrade-package llama-cpp-python, or "
                "pip install -U llama-cpp-python), or choose another model.",
                architecture=info.architecture,
            )
        return ModelFormatError(
            f"llama.cpp could not load {info.path.name}. {_last_error(lines)}".strip(),
            f"File: {info.path}. The file may be damaged: download it again.",
        )

    def unload(self) -> None:
        lib = self._lib
        if lib is not None:
            if self._ctx is not None:
                lib.llama_free(self._ctx)
            if self._model is not None:
                lib.llama_model_free(self._model)
        self._ctx = self._model = self._vocab = None
        self._cached = []
        self._info = None
        gc.collect()

    # -- tokens -----------------------------------------------------------------
    def _require_loaded(self) -> None:
        if self._ctx is None:
            raise EngineError("No model is loaded.", "Load a model first.")

    def _token_text(self, token: int) -> str:
        if token < 0:
            return ""
        n = self._lib.llama_token_to_piece(self._vocab, token, self._piece_buf, 256, 0, True)
        return self._piece_buf.raw[: max(n, 0)].decode("utf-8", "replace")

    def _special_vocab(self) -> set[str]:
        lib = self._lib
        n = lib.llama_vocab_n_tokens(self._vocab)
        # control tokens are few; probing the first and last ranges is enough to tell template families
        ids = list(range(min(n, 300))) + list(range(max(0, n - 300), n))
        return {self._token_text(i) for i in ids if lib.llama_vocab_is_control(self._vocab, i)} | {
            self._token_text(i) for i in ids
        }

    def tokenize(self, text: str, *, add_bos: bool, special: bool = True) -> list[int]:
        """`special`: parse special-token text (the template's markup) into special tokens."""
        self._require_loaded()
        data = text.encode("utf-8")
        cap = len(data) + 8
        buf = (self._lib.llama_token * cap)()
        n = self._lib.llama_tokenize(self._vocab, data, len(data), buf, cap, add_bos, special)
        if n < 0:
            cap = -n
            buf = (self._lib.llama_token * cap)()
            n = self._lib.llama_tokenize(self._vocab, data, len(data), buf, cap, add_bos, special)
        return list(buf[:n])

    def _special_ids(self, texts: tuple[str, ...]) -> set[int]:
        ids = set()
        for text in texts:
            toks = self.tokenize(text, add_bos=False)
            if len(toks) == 1 and self._lib.llama_vocab_is_control(self._vocab, toks[0]):
                ids.add(toks[0])
        return ids

    def specials_in(self, text: str) -> list[str]:
        """The special-token texts (control tokens) that `text` would turn into if parsed."""
        if not text or ("<" not in text and "[" not in text and "|" not in text):
            return []
        is_control = self._lib.llama_vocab_is_control
        return list({self._token_text(t) for t in self.tokenize(text, add_bos=False) if is_control(self._vocab, t)})

    @property
    def chat_format(self) -> ChatFormat | None:
        return self._format

    def build_prompt(self, messages: list[Message], params: GenParams | None = None) -> Prompt:
        self._require_loaded()
        assert self._format is not None
        return self._format.build(messages, params, self.specials_in)

    def render_prompt(self, messages: list[Message], params: GenParams | None = None) -> str:
        return self.build_prompt(messages, params).text

    def prompt_tokens(self, messages: list[Message], params: GenParams | None = None) -> list[int]:
        return self._tokens(self.build_prompt(messages, params))

    def _tokens(self, prompt: Prompt) -> list[int]:
        # templates that write the BOS text themselves must not get a second one
        add_bos = bool(self._lib.llama_vocab_get_add_bos(self._vocab)) and not (
            self._bos and prompt.text.startswith(self._bos)
        )
        out: list[int] = []
        for text, markup in prompt.pieces:
            # message text never becomes special tokens: a pasted <|im_end|> stays text
            out += self.tokenize(text, add_bos=add_bos and not out, special=markup)
        return out

    def count_tokens(self, messages: list[Message]) -> int:
        return len(self.prompt_tokens(messages))

    # -- generation ---------------------------------------------------------
    def _sampler(self, params: GenParams):  # type: ignore[no-untyped-def]
        lib = self._lib
        chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        add = lambda s: lib.llama_sampler_chain_add(chain, s)  # noqa: E731
        if params.repeat_penalty and params.repeat_penalty != 1.0:
            add(lib.llama_sampler_init_penalties(lib.llama_vocab_n_tokens(self._vocab), 64, params.repeat_penalty, 0.0, 0.0))
        if params.temperature <= 0:
            add(lib.llama_sampler_init_greedy())
            return chain
        if params.top_k > 0:
            add(lib.llama_sampler_init_top_k(params.top_k))
        if 0 < params.top_p < 1:
            add(lib.llama_sampler_init_top_p(params.top_p, 1))
        if params.min_p > 0:
            add(lib.llama_sampler_init_min_p(params.min_p, 1))
        add(lib.llama_sampler_init_temp(params.temperature))
        seed = params.seed if params.seed is not None and params.seed >= 0 else 0xFFFFFFFF
        add(lib.llama_sampler_init_dist(seed))
        return chain

    def _decode(self, tokens: list[int], cancel: threading.Event | None = None) -> bool:
        """Evaluate tokens after what is cached, in batches; False if cancelled.

        Cancel is checked between batches and, through llama.cpp's abort callback,
        between the graph's operations inside a batch: a stop during a long prompt does
        not wait for a 512-token batch to finish. The callback is set only here, so the
        one-token decode steps of the answer do not pay for it."""
        lib = self._lib
        step = min(512, self._n_ctx)
        abort = None
        if cancel is not None and len(tokens) > 1 and hasattr(lib, "llama_set_abort_callback"):
            abort = lib.ggml_abort_callback(lambda _data: cancel.is_set())
            lib.llama_set_abort_callback(self._ctx, abort, None)
        try:
            for i in range(0, len(tokens), step):
                if cancel is not None and cancel.is_set():
                    return False
                part = tokens[i : i + step]
                arr = (lib.llama_token * len(part))(*part)
                rc = lib.llama_decode(self._ctx, lib.llama_batch_get_one(arr, len(part)))
                if rc == 2 and cancel is not None and cancel.is_set():
                    self._resync_cache(part)  # aborted: some of the batch may be in the cache
                    return False
                if rc != 0:
                    # the cache no longer matches our record; start clean next time
                    self._clear_cache()
                    raise EngineError(f"llama.cpp failed to evaluate the prompt (code {rc}).", "Try a shorter conversation.")
                self._cached.extend(part)
            return True
        finally:
            if abort is not None:
                lib.llama_set_abort_callback(self._ctx, lib.ggml_abort_callback(), None)

    def _resync_cache(self, part: list[int]) -> None:
        """After an aborted batch: keep the record equal to what the cache now holds."""
        lib = self._lib
        try:
            held = int(lib.llama_memory_seq_pos_max(lib.llama_get_memory(self._ctx), 0)) + 1
        except (AttributeError, TypeError):
            held = -1
        full = self._cached + part
        if 0 < held <= len(full) and lib.llama_memory_seq_rm(lib.llama_get_memory(self._ctx), 0, held, -1):
            self._cached = full[:held]
        else:
            self._clear_cache()

    def _clear_cache(self) -> None:
        self._lib.llama_memory_clear(self._lib.llama_get_memory(self._ctx), True)
        self._cached = []

    def _reuse_prefix(self, tokens: list[int]) -> int:
        """Trim the cache to the common prefix with `tokens`; return its length."""
        n = reusable_prefix(self._cached, tokens)
        if n < len(self._cached):
            mem = self._lib.llama_get_memory(self._ctx)
            if n <= 0 or not self._lib.llama_memory_seq_rm(mem, 0, n, -1):
                self._clear_cache()
                return 0
            del self._cached[n:]
        return n

    def stream_chat(self, messages: list[Message], params: GenParams, cancel: threading.Event) -> Iterator[Chunk]:
        self._require_loaded()
        t0 = time.perf_counter()
        prompt = self.build_prompt(messages, params)
        tokens = self._tokens(prompt)
        ensure_prompt_fits(len(tokens), self._n_ctx)
        return self._generate(tokens, params, cancel, t0, prompt.stream)

    def _generate(
        self, tokens: list[int], params: GenParams, cancel: threading.Event, t0: float, split: ThinkingStream
    ) -> Iterator[Chunk]:
        lib, vocab, ctx = self._lib, self._vocab, self._ctx
        cached = self._reuse_prefix(tokens)
        usage = Usage(prompt_tokens=len(tokens), cached_tokens=cached)
        timings = Timings()
        sampler = self._sampler(params)
        try:
            finish = "cancelled"
            if not self._decode(tokens[cached:], cancel):
                timings.total_s = timings.prompt_s = time.perf_counter() - t0
                yield Chunk(done=True, finish_reason="cancelled", usage=usage, timings=timings)
                return
            t_prompt = time.perf_counter()
            timings.prompt_s = t_prompt - t0
            decoder = codecs.getincrementaldecoder("utf-8")("replace")
            stops = StopMatcher(params.stop)
            buf, buf_len = self._piece_buf, 256
            one = (lib.llama_token * 1)()
            markers = self._marker_ids
            t_first = 0.0
            n_out = 0
            sample, is_eog, to_piece, decode, batch_one = (
                lib.llama_sampler_sample, lib.llama_vocab_is_eog, lib.llama_token_to_piece,
                lib.llama_decode, lib.llama_batch_get_one,
            )
            while True:
                if cancel.is_set():
                    finish = "cancelled"
                    break
                tok = sample(sampler, ctx, -1)
                if is_eog(vocab, tok):
                    finish = "stop"
                    break
                n_out += 1
                if n_out == 1:
                    t_first = time.perf_counter()
                    timings.ttft_s = t_first - t0
                # thinking tags that are special tokens ([THINK], harmony's) are rendered for the splitter
                n = to_piece(vocab, tok, buf, buf_len, 0, tok in markers)
                text = decoder.decode(buf.raw[:n]) if n > 0 else ""
                text = stops.feed(text)
                piece = split.feed(text) if text else None
                if piece is not None:
                    yield piece
                if stops.stopped:
                    finish = "stop"
                    break
                if n_out >= params.max_tokens or len(self._cached) + 1 >= self._n_ctx:
                    finish = "length"
                    break
                one[0] = tok
                if decode(ctx, batch_one(one, 1)) != 0:
                    self._clear_cache()
                    raise EngineError("llama.cpp failed while generating.", "Try again, or start a new chat.")
                self._cached.append(tok)
            tail = decoder.decode(b"", final=True)
            tail = stops.feed(tail) + stops.flush()
            for piece in (split.feed(tail) if tail else None, split.flush()):
                if piece is not None:
                    yield piece
            end = time.perf_counter()
            usage.completion_tokens = n_out
            timings.total_s = end - t0
            timings.decode_s = end - t_first if n_out else 0.0
            yield Chunk(done=True, finish_reason=finish, usage=usage, timings=timings)  # type: ignore[arg-type]
        finally:
            lib.llama_sampler_free(sampler)


def _last_error(lines: list[str]) -> str:
    errs = [ln.strip() for ln in lines if "error" in ln.lower() or "failed" in ln.lower()]
    return f"llama.cpp said: {errs[-1]}" if errs else ""


def _backend_name(lib) -> str:  # type: ignore[no-untyped-def]
    info = lib.llama_print_system_info().decode("utf-8", "replace")
    for name in ("CUDA", "Metal", "Vulkan", "ROCm", "SYCL"):
        if name.upper() in info.upper():
            return name
    return "CPU"

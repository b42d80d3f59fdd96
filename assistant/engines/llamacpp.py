"""llama.cpp engine on llama-cpp-python's low-level API: loading, tokens, prompts.

The answer loop is in llamacpp_gen.py (one llama_decode per step for every running
sequence, llama.cpp's own sampler chain, prompt-lookup drafts for a sequence alone),
one answer's state in llamacpp_seq.py, each slot's cache and its reuse across turns in
llamacpp_cache.py, the power-user load options in llamacpp_options.py.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

import psutil

from assistant.core import ggml_backends
from assistant.core.gguf_meta import GgufInfo, read_gguf, shard_paths, unsupported_architecture
from assistant.core.types import Chunk, GenParams, LoadOptions, Message, ModelRef
from assistant.engines import llamacpp_log, llamacpp_options, safe_mode, templates
from assistant.engines.base import ensure_prompt_fits
from assistant.engines.llamacpp_cache import KvCache
from assistant.engines.llamacpp_gen import AnswerLoop
from assistant.engines.llamacpp_seq import Sequence
from assistant.engines.llamacpp_vision import ImageSpan, Vision, assemble, image_paths, no_vision_error
from assistant.engines.prompting import ChatFormat, Prompt
from assistant.errors import (
    EngineError,
    EngineUnavailableError,
    GrammarError,
    ModelFormatError,
    ModelTooLargeError,
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
        self.vision: Vision | None = None  # the projector, when loaded with one (LoadOptions.mmproj)
        self.loop: AnswerLoop | None = None  # the slots (each its cache record) and the sequences in them
        self._rids = 0
        self.prompt_lookup = "auto"
        self.load_report: dict[str, Any] = {}  # what llama.cpp used (llamacpp_options.report)
        self.last_lookup: Any = None  # the last answer's prompt lookup, for its counts
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
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        cparams.no_perf = True
        # slots: sequences that share one cache of n_ctx cells, each able to use all of it
        # (llama-server's default: -np 4 with a unified KV cache)
        n_slots = max(1, int(getattr(options, "parallel", 1) or 1))
        cparams.n_seq_max = n_slots
        if hasattr(cparams, "kv_unified"):
            cparams.kv_unified = True
        # sliding-window layers keep only their window; prefixes are reused with checkpoints (llamacpp_cache.py)
        n_swa = int(lib.llama_model_n_swa(mdl)) if hasattr(lib, "llama_model_n_swa") else 0
        if hasattr(cparams, "swa_full"):
            cparams.swa_full = False
        llamacpp_options.apply(options, cparams, lib, self._n_ctx, flash_allowed=self.safe.flash_attn)
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
        self.loop = AnswerLoop(self, self._n_ctx, int(cparams.n_batch), n_swa, n_slots)
        self.prompt_lookup = options.prompt_lookup
        self.load_report = llamacpp_options.report(lines, cparams) | {"prompt_lookup": options.prompt_lookup, "parallel": n_slots}
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
        if options.mmproj:
            try:
                self.vision = Vision.load(lib, mdl, Path(options.mmproj), path.name, threads, use_gpu=n_gpu != 0)
            except Exception:
                self.unload()
                raise
        log.info("loaded %s (ctx %d, gpu layers %s, %s, %s)", path.name, self._n_ctx, n_gpu, self._backend, self.safe.describe())

    def _load_error(self, info: GgufInfo, lines: list[str]) -> Exception:
        text = "\n".join(lines)
        if "unknown model architecture" in text or "unknown architecture" in text:
            return unsupported_architecture(info.path, info.architecture)
        return ModelFormatError(
            f"llama.cpp could not load {info.path.name}. {_last_error(lines)}".strip(),
            f"File: {info.path}. The file may be damaged: download it again.",
        )

    def unload(self) -> None:
        lib = self._lib
        if self.loop is not None:
            self.loop.free()
        if self.vision is not None:
            self.vision.free()
            self.vision = None
        if lib is not None:
            if self._ctx is not None:
                lib.llama_free(self._ctx)
            if self._model is not None:
                lib.llama_model_free(self._model)
        self._ctx = self._model = self._vocab = None
        self.loop = None
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
        """The prompt's tokens; each image's tokens are negative stand-ins (llamacpp_vision.py)."""
        return self._input(self.build_prompt(messages, params), messages)[0]

    def _input(self, prompt: Prompt, messages: list[Message]) -> tuple[list[int], list[ImageSpan]]:
        """The prompt's tokens and where its images are in them."""
        paths = image_paths(messages)
        if self.vision is not None:
            self.vision.notes = []  # what this prompt's images say (assemble)
        if not paths:
            return self._tokens(prompt), []
        if self.vision is None:
            raise no_vision_error(self._info.path.name if self._info else "This model")
        add_bos = self._add_bos(prompt)
        return assemble(self.vision, prompt.pieces, paths,
                        lambda text, markup, first: self.tokenize(text, add_bos=add_bos and first, special=markup))

    def _add_bos(self, prompt: Prompt) -> bool:
        # templates that write the BOS text themselves must not get a second one
        return bool(self._lib.llama_vocab_get_add_bos(self._vocab)) and not (
            self._bos and prompt.text.startswith(self._bos)
        )

    def _tokens(self, prompt: Prompt) -> list[int]:
        add_bos = self._add_bos(prompt)
        out: list[int] = []
        for text, markup in prompt.pieces:
            # message text never becomes special tokens: a pasted <|im_end|> stays text
            out += self.tokenize(text, add_bos=add_bos and not out, special=markup)
        return out

    def count_tokens(self, messages: list[Message]) -> int:
        return len(self.prompt_tokens(messages))

    # -- generation ---------------------------------------------------------
    @property
    def parallel(self) -> int:
        return self.loop.n_slots if self.loop is not None else 0

    @property
    def _kv(self) -> KvCache | None:
        """The first slot's cache (a lone in-process caller starts there after a clear)."""
        return self.loop.slots[0] if self.loop is not None else None

    def _clear_cache(self) -> None:
        if self.loop is not None:
            self.loop.clear()

    def start_answer(self, rid: int, messages: list[Message], params: GenParams, cancel: threading.Event) -> Sequence:
        """A new sequence in the answer loop (prompt errors such as PromptTooLongError are
        raised here); whoever drives the loop steps it and takes its chunks."""
        self._require_loaded()
        assert self.loop is not None
        t0 = time.perf_counter()
        prompt = self.build_prompt(messages, params)
        tokens, spans = self._input(prompt, messages)
        ensure_prompt_fits(len(tokens), self._n_ctx)
        if prompt.grammar is not None:  # tools: the calls' grammar (a format of its own is refused before)
            if params.grammar is not None:
                raise GrammarError("An answer cannot follow both a JSON format and tool calls.",
                                   "Send tools or a response format, not both.")
            params = replace(params, grammar=prompt.grammar, grammar_triggers=prompt.triggers)
        return self.loop.start(rid, tokens, params, cancel, prompt.stream, t0, self.prompt_lookup, spans)

    def stream_chat(self, messages: list[Message], params: GenParams, cancel: threading.Event) -> Iterator[Chunk]:
        """One answer, the loop stepped by this caller (in-process use: one reader at a time)."""
        self._rids += 1
        seq = self.start_answer(self._rids, messages, params, cancel)
        assert self.loop is not None
        return self.loop.run(seq)


def _last_error(lines: list[str]) -> str:
    errs = [ln.strip() for ln in lines if "error" in ln.lower() or "failed" in ln.lower()]
    return f"llama.cpp said: {errs[-1]}" if errs else ""


def _backend_name(lib) -> str:  # type: ignore[no-untyped-def]
    info = lib.llama_print_system_info().decode("utf-8", "replace")
    for name in ("CUDA", "Metal", "Vulkan", "ROCm", "SYCL"):
        if name.upper() in info.upper():
            return name
    return "CPU"

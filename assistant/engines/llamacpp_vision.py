"""Vision for the llama.cpp engine: the model's projector (an mmproj GGUF) through
libmtmd, as llama-cpp-python 0.3.36 binds it (`llama_cpp.mtmd_cpp`).

An image becomes chunks: mtmd tokenizes the media marker with the image's bitmap, which
gives the projector's own text around it (Gemma 3: <start_of_image> ... <end_of_image>)
and one image chunk of N image tokens. The prompt's token list holds the text tokens as
usual and, for each image token, a pseudo-token: a negative number made from the image's
content hash (libmtmd's sha256 of the file, the chunk's id), as llama-server keeps image
chunk ids in its cached tokens. Prefix reuse across turns then compares images like
tokens: text after the same image reuses the cache, a different image does not match
past its first token, and no pseudo-token is ever decoded as a token.

Prefill (llamacpp_gen.py): text runs are decoded as before; an image span is encoded by
the projector and its embeddings decoded into the sequence's slot at its positions with
`mtmd_helper_eval_chunk_single` (the slot's seq_id and position; non-causal attention
over the image where the model wants it, Gemma 3). M-RoPE models (Qwen2-VL, Qwen2.5-VL,
Qwen3-VL) give an image's tokens 2-D positions that advance by `ImageSpan.n_pos`, fewer
than its tokens: the slot's cache maps cells to positions (llamacpp_cache.KvCache.pos). The engine's process is the boundary:
a hostile image or projector that crashes libmtmd costs that process, not the app.
"""

from __future__ import annotations

import ctypes
import logging
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.core import images
from assistant.core.images import no_vision_error  # noqa: F401  (the engines' one message)
from assistant.engines import llamacpp_log
from assistant.errors import EngineError, ImageError, ModelFormatError

log = logging.getLogger(__name__)

_NO_FFMPEG = b"/nonexistent/assistant-no-ffmpeg"
_CACHE = 8  # images kept tokenized (decoded and preprocessed): a chat's recent ones


def pseudo_tokens(image_id: bytes, n: int) -> list[int]:
    """N negative stand-ins for an image's tokens, made from its content hash."""
    try:
        base = int(image_id[:15], 16)  # libmtmd's id: the file's sha256, in hex
    except ValueError:
        base = int.from_bytes(image_id[:8].ljust(8, b"\0"), "little")
    return [-(2 + ((base + i) & 0x3FFFFFFF)) for i in range(n)]


class ImageChunks:
    """One image as mtmd chunks (text around it, the image chunk); freed with the last reference."""

    def __init__(self, mtmd: Any, chunks: Any, note: str = "") -> None:
        self._mtmd, self._chunks = mtmd, chunks
        self.note = note  # what the model sees of it when not the whole file (images.ImageInfo.note)
        self.pieces: list[tuple[list[int], Any]] = []  # (tokens, None) text; (pseudo-tokens, chunk) image
        for i in range(mtmd.mtmd_input_chunks_size(chunks)):
            chunk = mtmd.mtmd_input_chunks_get(chunks, i)
            if mtmd.mtmd_input_chunk_get_type(chunk) == mtmd.MTMD_INPUT_CHUNK_TYPE_TEXT:
                n = ctypes.c_size_t(0)
                toks = mtmd.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n))
                self.pieces.append(([int(toks[j]) for j in range(n.value)], None))
            else:
                n_tok = int(mtmd.mtmd_input_chunk_get_n_tokens(chunk))
                self.pieces.append((pseudo_tokens(mtmd.mtmd_input_chunk_get_id(chunk) or b"", n_tok), chunk))

    @property
    def n_image_tokens(self) -> int:
        return sum(len(t) for t, c in self.pieces if c is not None)

    def __del__(self) -> None:
        if self._chunks is not None:
            self._mtmd.mtmd_input_chunks_free(self._chunks)
            self._chunks = None


@dataclass
class ImageSpan:
    """An image's tokens in a prompt: tokens[start:start + len(tokens)]."""

    start: int
    tokens: list[int]
    chunk: Any
    owner: ImageChunks  # keeps the chunk alive

    @property
    def end(self) -> int:
        return self.start + len(self.tokens)

    @property
    def n_pos(self) -> int:
        """Positions the image advances: its tokens, or fewer with M-RoPE (Qwen-VL: max(rows, columns))."""
        return int(self.owner._mtmd.mtmd_input_chunk_get_n_pos(self.chunk))


class Vision:
    """The projector of one loaded model."""

    def __init__(self, mtmd: Any, ctx: Any, path: Path) -> None:
        self.mtmd, self.ctx, self.path = mtmd, ctx, path
        self._cache: OrderedDict[tuple[str, int, int], ImageChunks] = OrderedDict()
        self.notes: list[str] = []  # what the model was shown of the last prompt's images (first frames)

    @classmethod
    def load(cls, lib: Any, model: Any, path: Path, model_name: str, threads: int, use_gpu: bool) -> "Vision":
        from llama_cpp import mtmd_cpp as mtmd

        llamacpp_log.install_mtmd(mtmd)
        if not path.is_file():
            raise ModelFormatError(f"The vision projector {path.name} is missing.",
                                   f"File: {path}. Download the model's projector (mmproj) again.")
        params = mtmd.mtmd_context_params_default()
        params.use_gpu = use_gpu
        params.n_threads = threads
        params.print_timings = False
        with llamacpp_log.capture() as lines:
            ctx = mtmd.mtmd_init_from_file(str(path).encode("utf-8"), model, params)
        if not ctx:
            text = "\n".join(lines)
            if "mismatch between text model" in text:
                why = next(ln for ln in lines if "mismatch between text model" in ln).split("error: ")[-1]
                raise ModelFormatError(f"The vision projector {path.name} does not match the model {model_name}: {why}.",
                                       "Download the projector (mmproj) made for this model, or load it without one.")
            last = next((ln for ln in reversed(lines) if "error" in ln.lower()), "")
            raise ModelFormatError(f"llama.cpp could not load the vision projector {path.name}. {last}".strip(),
                                   f"File: {path}. It may be damaged or not a projector: download it again.")
        if not mtmd.mtmd_support_vision(ctx):
            mtmd.mtmd_free(ctx)
            raise ModelFormatError(f"{path.name} is a projector for audio, not images.",
                                   "Download the model's vision projector (mmproj).")
        return cls(mtmd, ctx, path)

    def free(self) -> None:
        self._cache.clear()
        if self.ctx is not None:
            self.mtmd.mtmd_free(self.ctx)
            self.ctx = None

    # -- images in -------------------------------------------------------------------
    def chunks(self, image: str | Path) -> ImageChunks:
        """The image tokenized (checked, decoded, preprocessed); recent ones are kept."""
        path = Path(image)
        try:
            st = path.stat()
        except OSError as exc:
            raise ImageError(f"The image {path.name} cannot be opened: {exc.strerror or exc}.",
                             "Attach it again.") from exc
        key = (str(path), st.st_size, st.st_mtime_ns)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        info, data = images.read(path)  # checked before any decoder: format, size bound, truncation
        if info.note:
            log.info("%s: %s", path.name, info.note)
        out = self._tokenize(data, path.name)
        out.note = info.note
        self._cache[key] = out
        while len(self._cache) > _CACHE:
            self._cache.popitem(last=False)
        return out

    def _tokenize(self, data: bytes, name: str) -> ImageChunks:
        mtmd = self.mtmd
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        # what stb_image cannot decode the helper hands to ffmpeg as a video, found on PATH:
        # pointed at a folder that does not exist, no file of the user's reaches another program
        opt = mtmd.mtmd_helper_init_opt_default()
        opt.video_params.ffmpeg_bin_dir = _NO_FFMPEG
        with llamacpp_log.capture() as lines:
            bitmap = mtmd.mtmd_helper_bitmap_init_from_buf(self.ctx, buf, len(data), False, opt)
        if not bitmap:
            raise ImageError(f"The image {name} could not be decoded: it is damaged, or a variant of its format "
                             "that the model's image reader does not support.",
                             "Open it in an image viewer and save it again as PNG or JPEG. " + (lines[-1] if lines else ""))
        chunks = mtmd.mtmd_input_chunks_init()
        try:
            marker = mtmd.mtmd_default_marker()
            text = mtmd.mtmd_input_text(marker, len(marker), False, True)
            arr = (mtmd.mtmd_bitmap_p_ctypes * 1)(bitmap)
            rc = mtmd.mtmd_tokenize(self.ctx, chunks, ctypes.byref(text), arr, 1)
        finally:
            mtmd.mtmd_bitmap_free(bitmap)
        if rc != 0:
            mtmd.mtmd_input_chunks_free(chunks)
            raise ImageError(f"The model's projector could not prepare the image {name} (code {rc}).",
                             "Try another image, or save this one again as PNG or JPEG.")
        return ImageChunks(mtmd, chunks)

    # -- prefill ---------------------------------------------------------------------
    def evaluate(self, lib: Any, lctx: Any, span: ImageSpan, n_past: int, seq: int, n_batch: int) -> int:
        """Encode the image and decode its embeddings into `seq` at n_past. 0, or llama_decode's
        code (1: no room in the cache)."""
        new_past = lib.llama_pos(0)
        with llamacpp_log.capture() as lines:
            rc = int(self.mtmd.mtmd_helper_eval_chunk_single(self.ctx, lctx, span.chunk, n_past, seq, n_batch, False,
                                                             ctypes.byref(new_past)))
        if rc not in (0, 1):
            raise EngineError(f"llama.cpp failed to read an image into the prompt (code {rc}).",
                              "Try again, or start a new chat. " + (lines[-1] if lines else ""))
        return rc


def image_paths(messages: list[Any]) -> list[str]:
    """The images of a conversation in prompt order (each message's before its text)."""
    return [img for m in messages for img in getattr(m, "images", ())]


def assemble(vision: Vision, pieces: list[tuple[str, bool]], paths: list[str],
             tokenize: Any) -> tuple[list[int], list[ImageSpan]]:
    """A prompt's tokens with each marker in its markup replaced by the image's chunks.
    `tokenize(text, markup, first)`: the engine's tokens of a text piece."""
    from assistant.engines.templates import image_places

    tokens: list[int] = []
    spans: list[ImageSpan] = []
    vision.notes = []
    for item, markup, image in image_places(pieces, paths):
        if not image:
            tokens += tokenize(item, markup, not tokens)
            continue
        owner = vision.chunks(item)
        if owner.note:
            vision.notes.append(owner.note)
        for toks, chunk in owner.pieces:
            if chunk is not None:
                spans.append(ImageSpan(len(tokens), toks, chunk, owner))
            tokens += toks
    return tokens, spans

"""Vision on the MLX engine through mlx-vlm (a model folder whose config.json has a
vision_config: Gemma 3, Qwen2.5-VL, Mistral Small 3.x, SmolVLM... converted to MLX).

The engine renders the prompt with the model's own template as for any MLX model (the
thinking splitter, tools and stops all stay the same); each image is a text part holding
the media marker (templates.MEDIA_MARKER), as on llama.cpp. Here each marker becomes the
text the model's processor expects for one image (found once at load by asking mlx-vlm's
own prompt builder: Gemma 3 `<start_of_image>`, Qwen `<|vision_start|><|image_pad|>
<|vision_end|>`, LLaVA `<image>`), and the processor, run on that text and the image, gives
the image's token ids (the placeholder expanded to its N image tokens, with the text
around it) and its pixel arrays. The prompt's keys hold a negative stand-in for each
image token, made from the image's content hash (llamacpp_vision.pseudo_tokens), so
prefix reuse across turns compares images like tokens.

Generation runs mlx-vlm's generate_step on the suffix of the prompt the cache does not
hold. A suffix with images is prefilled from the start with all of the prompt's images
(the image features are scattered into the image-token positions of the ids fed), so a
new image costs a full prefill; text after the same images reuses the cache. A model that
places positions itself (M-RoPE: Qwen-VL, whose image tokens take fewer positions than
tokens) is given its own positions of the whole prompt with such a suffix (_positions).

Every image is checked first (core/images.py: format by signature, size bound,
truncation) and decoded from the bytes read then, with Pillow (which mlx-vlm needs).
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generator

from assistant.core import images
from assistant.engines.llamacpp_vision import pseudo_tokens
from assistant.errors import EngineError, ImageError, ModelFormatError, UnsupportedArchitectureError

log = logging.getLogger(__name__)

_REDOWNLOAD = "Download the model again from the model library."
_TEXT_KEYS = ("input_ids", "attention_mask", "token_type_ids", "mm_token_type_ids")
# mlx-vlm's language models (0.7.10) that take positions for the whole prompt with a suffix
# and slice the suffix's out by the cache's offset (GLM-4V's, for one, does not)
_WHOLE_PROMPT_POSITIONS = frozenset(f"mlx_vlm.models.{m}.language" for m in (
    "qwen2_vl", "qwen2_5_vl", "qwen3_vl", "qwen3_vl_moe", "qwen3_5", "qwen3_omni_moe"))
_PROBE = "\ue000"  # a text no template changes, to find where the image goes around it


def wants_vision(config: dict[str, Any]) -> bool:
    """mlx-vlm's own mark of a vision model: a vision_config beside the text model's."""
    return isinstance(config.get("vision_config"), dict) and bool(config.get("vision_config"))


def available() -> bool:
    """mlx-vlm is installed (a broken install is an error at load that says so, not text-only)."""
    import importlib.util

    return importlib.util.find_spec("mlx_vlm") is not None


def needs_mlx_vlm(model_name: str) -> ImageError:
    """A vision model's folder, loaded text-only because mlx-vlm is not installed."""
    return ImageError(f"{model_name} can see images, but MLX vision needs mlx-vlm, which is not installed: "
                      "it was loaded for text only.",
                      "Install it (pip install mlx-vlm) and load the model again, or remove the images.")


@dataclass
class ImageInput:
    """One image ready for the model: its ids (text around it included) and pixel arrays."""

    ids: list[int]
    keys: list[int]  # the ids with each image token replaced by a stand-in from the content hash
    arrays: dict[str, Any]
    note: str = ""


@dataclass
class Encoded:
    """A prompt as the model reads it: ids, the keys the cache is compared by, its images
    (with the position of each one's first id)."""

    ids: list[int] = field(default_factory=list)
    keys: list[int] = field(default_factory=list)
    images: list[tuple[int, ImageInput]] = field(default_factory=list)


@dataclass
class Response:
    token: int
    text: str
    finish_reason: str | None = None


class MlxVision:
    def __init__(self, model: Any, processor: Any, config: dict[str, Any], path: Path) -> None:
        self.model, self.processor, self.config, self.path = model, processor, config, path
        self.image_token_id = _image_token_id(config, processor)
        self.placeholder = self._find_placeholder()
        self.notes: list[str] = []  # what the model was shown of the last prompt's images (first frames)
        self._recent: dict[str, ImageInput] = {}  # sha256 -> the image processed (a chat's recent ones)
        # M-RoPE (Qwen-VL): the model places positions itself, from the image grids
        lm = getattr(model, "language_model", model)
        rope_index = getattr(lm, "get_rope_index", None)
        self._own_positions = rope_index is not None
        known = any(c.__module__ in _WHOLE_PROMPT_POSITIONS for c in type(lm).__mro__)
        self._rope_index = rope_index if known and _takes(rope_index, "image_grid_thw") else None

    # -- load -----------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, config: dict[str, Any]) -> "MlxVision":
        try:
            from mlx_vlm.utils import load
        except (ImportError, OSError) as exc:  # checked by the engine first; a broken install
            raise EngineError(f"mlx-vlm cannot be imported ({exc}).", "Reinstall it: pip install -U mlx-vlm.") from exc
        arch = str(config.get("model_type", "unknown"))
        try:
            model, processor = load(str(path))
        except FileNotFoundError as exc:
            raise ModelFormatError(f"The model in {path} is incomplete: {exc}", _REDOWNLOAD) from exc
        except ValueError as exc:
            if "not supported" in str(exc):
                raise UnsupportedArchitectureError(
                    f"The model in {path} uses the '{arch}' architecture, which this version of mlx-vlm does not know.",
                    "Update mlx-vlm (pip install -U mlx-vlm), or choose another model.", architecture=arch) from exc
            raise ModelFormatError(f"mlx-vlm could not load the model in {path}: {exc}", _REDOWNLOAD) from exc
        except (OSError, RuntimeError, KeyError, TypeError, AttributeError, ImportError) as exc:
            raise ModelFormatError(f"mlx-vlm could not load the model in {path}: {exc}",
                                   "The files may be damaged, or the processor files missing. " + _REDOWNLOAD) from exc
        if not hasattr(processor, "tokenizer"):
            raise ModelFormatError(f"The model in {path} has no tokenizer beside its image processor.", _REDOWNLOAD)
        return cls(model, processor, config, path)

    def tokenizer(self) -> Any:
        """The processor's tokenizer as mlx-lm wraps one (encode, detokenizer, eos ids)."""
        from mlx_lm.tokenizer_utils import TokenizerWrapper

        eos = self.config.get("eos_token_id")
        text_eos = (self.config.get("text_config") or {}).get("eos_token_id")
        ids = [e for v in (eos, text_eos) for e in (v if isinstance(v, list) else [v]) if isinstance(e, int)]
        return TokenizerWrapper(self.processor.tokenizer, eos_token_ids=ids)

    def _find_placeholder(self) -> str:
        """What the model's processor wants in the text for one image, from mlx-vlm's prompt
        builder: the prompt with one image less the prompt with none."""
        from mlx_vlm.prompt_utils import apply_chat_template

        try:
            with_image = apply_chat_template(self.processor, self.config, _PROBE, num_images=1)
            without = apply_chat_template(self.processor, self.config, _PROBE, num_images=0)
        except Exception as exc:  # a model's template raises anything (jinja, KeyError, ValueError)
            log.info("mlx-vlm's prompt builder failed for %s (%s); using the processor's image token", self.path.name, exc)
            with_image = without = ""
        if not isinstance(with_image, str) or not isinstance(without, str):
            with_image = without = ""
        # compared as tokens, so a special token is never split ("<" + "start_of_image>")
        tok = self.processor.tokenizer
        a = list(tok.encode(with_image, add_special_tokens=False)) if with_image else []
        b = list(tok.encode(without, add_special_tokens=False)) if without else []
        start = 0
        while start < min(len(a), len(b)) and a[start] == b[start]:
            start += 1
        end = 0
        while end < min(len(a), len(b)) - start and a[-1 - end] == b[-1 - end]:
            end += 1
        found = tok.decode(a[start:len(a) - end], skip_special_tokens=False).strip() if a else ""
        if found and _PROBE not in found:
            return found
        token = getattr(self.processor, "image_token", None) or getattr(self.processor.tokenizer, "image_token", None)
        if isinstance(token, str) and token:
            return token
        raise ModelFormatError(f"The model in {self.path} does not say where an image goes in its prompt.",
                               "Its processor files (processor_config.json, chat template) may be missing. " + _REDOWNLOAD)

    # -- images in --------------------------------------------------------------
    def image(self, path: str | Path) -> ImageInput:
        """The image checked, decoded and run through the processor; recent ones are kept."""
        path = Path(path)
        info, data = images.read(path)  # format, size bound, truncation: before any decoder
        digest = hashlib.sha256(data).hexdigest()
        kept = self._recent.pop(digest, None)
        if kept is None:
            kept = self._process(data, path, info.note, digest)
        self._recent[digest] = kept
        while len(self._recent) > 8:
            self._recent.pop(next(iter(self._recent)))
        return kept

    def _process(self, data: bytes, path: Path, note: str, digest: str) -> ImageInput:
        from mlx_vlm.utils import process_inputs_with_fallback
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(data)) as img:
                img.seek(0)  # an animation's first frame
                rgb = img.convert("RGB")
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise ImageError(f"The image {path.name} could not be decoded: it is damaged, or a variant of its "
                             f"format that is not supported ({exc}).",
                             "Save it as PNG or JPEG (any image viewer can) and attach it again.") from exc
        try:
            out = process_inputs_with_fallback(self.processor, prompts=[self.placeholder], images=[rgb], audio=None,
                                               add_special_tokens=False)
        except ValueError as exc:
            raise ImageError(f"The model's image processor could not read {path.name}: {exc}",
                             "Try another image, or save it as PNG and attach it again.") from exc
        import mlx.core as mx

        ids = [int(t) for t in _first_row(out["input_ids"])]
        n_image = sum(1 for t in ids if t == self.image_token_id)
        if not n_image:
            raise ModelFormatError(f"The model's processor gave no image tokens for {path.name} (image token "
                                   f"{self.image_token_id}).", "The model's processor files may not match it. " + _REDOWNLOAD)
        stand_ins = iter(pseudo_tokens(digest.encode(), n_image))
        keys = [next(stand_ins) if t == self.image_token_id else t for t in ids]
        arrays = {k: (v if isinstance(v, mx.array) else mx.array(v)) for k, v in out.items()
                  if k not in _TEXT_KEYS and v is not None and not isinstance(v, (str, list))}
        if "pixel_values" not in arrays:
            raise ModelFormatError(f"The model's processor gave no pixels for {path.name}.", _REDOWNLOAD)
        return ImageInput(ids, keys, arrays, note)

    def assemble(self, pieces: list[tuple[str, bool]], paths: list[str], tokenize: Any) -> Encoded:
        """A prompt's ids and keys with each marker in its markup replaced by an image.
        `tokenize(text, markup, first)`: the engine's tokens of a text piece."""
        from assistant.engines.templates import image_places

        enc = Encoded()
        self.notes = []
        for item, markup, image in image_places(pieces, paths):
            if not image:
                toks = tokenize(item, markup, not enc.ids)
                enc.ids += toks
                enc.keys += toks
                continue
            img = self.image(item)
            if img.note:
                self.notes.append(img.note)
            enc.images.append((len(enc.ids), img))
            enc.ids += img.ids
            enc.keys += img.keys
        return enc

    # -- generation ---------------------------------------------------------------
    def make_cache(self) -> list[Any]:
        from mlx_vlm.models.cache import make_prompt_cache

        return list(make_prompt_cache(self.model.language_model))

    def needs_full_prefill(self, enc: Encoded, cached: int) -> bool:
        """Whether the suffix from `cached` holds an image (its features go in with the whole
        prompt), or the model places positions itself in a way _positions cannot give it
        (prefilled from the start, as mlx-vlm's own generate does)."""
        if self._own_positions and self._rope_index is None:
            return True
        return any(start + len(img.ids) > cached for start, img in enc.images)

    def _positions(self, enc: Encoded) -> dict[str, Any]:
        """A model that places positions itself (M-RoPE: Qwen-VL) computes them from the ids it
        is fed, from 0 and blind to the images in the cache: fed a suffix, it would read it at the
        wrong positions. Its own index of the whole prompt, with its rope deltas (how far the text
        after the images runs behind its token count), is what generate_step takes from a caller
        instead; the model slices the suffix's positions out by the cache's offset."""
        if self._rope_index is None:
            return {}
        import mlx.core as mx

        grids = [img.arrays["image_grid_thw"] for _, img in enc.images if "image_grid_thw" in img.arrays]
        position_ids, deltas = self._rope_index(mx.array([enc.ids]), image_grid_thw=mx.concatenate(grids) if grids else None)
        return {"position_ids": position_ids, "rope_deltas": deltas}

    def stream(self, enc: Encoded, cached: int, tokenizer: Any, *, max_tokens: int, sampler: Any,
               logits_processors: Any, prompt_cache: list[Any]) -> Generator[Response, None, None]:
        """mlx-vlm's generate_step on the prompt from `cached` (0 where an image is in the
        suffix), streamed as mlx-lm's stream_generate streams: the end token comes with
        finish_reason "stop", the max_tokens-th with "length"."""
        import mlx.core as mx
        from mlx_vlm.generate import generate_step

        kwargs: dict[str, Any] = {}
        pixels = mask = None
        if enc.images and cached == 0:
            for name in enc.images[0][1].arrays:
                parts = [img.arrays[name] for _, img in enc.images if name in img.arrays]
                kwargs[name] = parts[0] if len(parts) == 1 else mx.concatenate(parts, axis=0)
            pixels = kwargs.pop("pixel_values")
            mask = mx.ones((1, len(enc.ids)), dtype=mx.int32)
        elif cached:
            kwargs.update(self._positions(enc))
        eos = set(tokenizer.eos_token_ids)
        detok = tokenizer.detokenizer
        detok.reset()
        steps = generate_step(mx.array([enc.ids[cached:]]), self.model, pixels, mask, max_tokens=max_tokens,
                              sampler=sampler, logits_processors=logits_processors, prompt_cache=prompt_cache,
                              **kwargs)
        try:
            for n, (picked, _) in enumerate(steps):
                token = int(picked)
                if token in eos:
                    detok.finalize()
                    yield Response(token, detok.last_segment, "stop")
                    return
                detok.add_token(token)
                if n + 1 >= max_tokens:
                    detok.finalize()
                    yield Response(token, detok.last_segment, "length")
                    return
                yield Response(token, detok.last_segment)
        finally:
            steps.close()


def _first_row(ids: Any) -> list[int]:
    rows = ids.tolist() if hasattr(ids, "tolist") else list(ids)
    return list(rows[0]) if rows and isinstance(rows[0], list) else list(rows)


def _takes(fn: Any, name: str) -> bool:
    import inspect

    try:
        return fn is not None and name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _image_token_id(config: dict[str, Any], processor: Any) -> int:
    for key in ("image_token_index", "image_token_id"):
        for cfg in (config, config.get("text_config") or {}):
            value = cfg.get(key) if isinstance(cfg, dict) else None
            if isinstance(value, int):
                return value
    for owner in (processor, getattr(processor, "tokenizer", None)):
        value = getattr(owner, "image_token_id", None)
        if isinstance(value, int):
            return value
    raise ModelFormatError("The model's config.json does not name its image token (image_token_index).", _REDOWNLOAD)

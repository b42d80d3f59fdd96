"""The curated model catalog (resources/catalog.json) and licences in plain words.

The JSON is kept by hand. `load_catalog()` validates it strictly, so a typo fails in
tests with the file, the entry id and the field named, never as a half-built library.
`license_restrictions()` turns a licence id (ours, or a Hub repo's `license` tag) into
short flags a non-lawyer can read; an empty tuple means permissive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.core.gguf_meta import SHARD_RE
from assistant.errors import CatalogError

CATALOG_PATH = Path(__file__).resolve().parents[1] / "resources" / "catalog.json"
ARCHS_PATH = Path(__file__).resolve().parents[1] / "resources" / "llama_archs.txt"
DEFAULT_QUANT = "Q4_K_M"
REASONING = ("no", "always", "switchable")  # does it think out loud before answering?
KINDS = ("chat", "embedding")  # embedding: turns text into vectors for Documents, never a chat model
DEFAULT_EMBEDDING_ID = "bge-small-en-v1.5"  # the first use of Documents offers this one

# ---------------------------------------------------------------- licences

_MAU_700M = "Companies with over 700 million monthly users need a separate licence from Meta"
_BUILT_WITH_LLAMA = "Products built with it must show \"Built with Llama\""
_LLAMA_AUP = "Use must follow Meta's acceptable use policy"
_LLAMA_NAME = "Models trained on its outputs and shared must have names starting with \"Llama\""
_NO_TRAIN_OTHERS = "Outputs may not be used to train or improve other models (except Llama ones)"
_NO_COMMERCIAL = "No commercial use"
_PASS_ON = "Anyone you share it or a changed version with must accept the same use restrictions"
UNKNOWN_LICENSE = "Licence not recognised: read it before use"

_LLAMA3X = (_MAU_700M, _BUILT_WITH_LLAMA, _LLAMA_AUP, _LLAMA_NAME)
# Llama 3.0 and 2 forbade using outputs to improve other models; 3.1 onwards allow it
# with the "Llama" name prefix. The Llama 4 AUP withholds its multimodal models from the EU.
_RESTRICTIONS: dict[str, tuple[str, ...]] = {
    "llama2": (_MAU_700M, _LLAMA_AUP, _NO_TRAIN_OTHERS),
    "llama3": (_MAU_700M, _BUILT_WITH_LLAMA, _LLAMA_AUP, _NO_TRAIN_OTHERS),
    "llama3.1": _LLAMA3X,
    "llama3.2": _LLAMA3X,
    "llama3.3": _LLAMA3X,
    "llama4": _LLAMA3X + ("Not licensed to people or companies based in the EU (it is a multimodal model)",),
    "gemma": ("Use must follow Google's Gemma prohibited use policy", _PASS_ON),
    "qwen": ("Products with over 100 million monthly users need a separate licence from Alibaba Cloud",
             "Models trained on its outputs and shared must say \"Built with Qwen\""),
    "qwen-research": (_NO_COMMERCIAL, "For research and evaluation only"),
    "mrl": (_NO_COMMERCIAL, "Mistral Research Licence: research and personal use only"),
    "cc-by-nc-4.0": (_NO_COMMERCIAL, "Credit the authors"),
    "cc-by-nc-sa-4.0": (_NO_COMMERCIAL, "Credit the authors", "Changed versions must use the same licence"),
    "cc-by-nc-nd-4.0": (_NO_COMMERCIAL, "Credit the authors", "No changed versions may be shared"),
    "cc-by-sa-4.0": ("Changed versions must use the same licence",),
    "gpl-3.0": ("Software you share that includes it must be GPL too",),
    "agpl-3.0": ("Services and software that include it must share their source under the AGPL",),
    "openrail": ("Use restrictions in the licence apply", _PASS_ON),
    "openrail++": ("Use restrictions in the licence apply", _PASS_ON),
    "bigscience-openrail-m": ("Use restrictions in the licence apply", _PASS_ON),
    "creativeml-openrail-m": ("Use restrictions in the licence apply", _PASS_ON),
    "deepseek": ("Use restrictions in the licence apply", _PASS_ON),
}
_PERMISSIVE = frozenset({
    "apache-2.0", "mit", "bsd-2-clause", "bsd-3-clause", "bsd", "isc", "unlicense", "cc0-1.0",
    "cc-by-4.0", "cc-by-3.0", "mpl-2.0", "lgpl-3.0", "lgpl-2.1", "artistic-2.0", "zlib", "bsl-1.0",
})
_ALIASES = {"apache2": "apache-2.0", "apache-2": "apache-2.0", "llama-3.1": "llama3.1", "llama-3.2": "llama3.2",
            "llama-3.3": "llama3.3", "llama-4": "llama4", "gemma-terms": "gemma", "tongyi-qianwen": "qwen"}


def license_restrictions(license_id: str | None) -> tuple[str, ...]:
    """Plain-words flags for a licence id or Hub tag; () when permissive."""
    key = (license_id or "").strip().lower()
    key = _ALIASES.get(key, key)
    if key in _PERMISSIVE:
        return ()
    return _RESTRICTIONS.get(key, (UNKNOWN_LICENSE,))


# ---------------------------------------------------------------- data

@dataclass(frozen=True)
class CatalogFile:
    quant: str
    filenames: tuple[str, ...]  # one, or the shards in order
    size_bytes: int  # sum of shards
    verified: bool
    sizes: tuple[int, ...] = ()  # per file, same order as filenames


@dataclass(frozen=True)
class CatalogEntry:
    id: str
    name: str
    family: str
    params_b: float
    active_params_b: float | None
    context_length: int
    license_id: str
    license_name: str
    license_url: str
    license_note: str
    restrictions: tuple[str, ...]
    gguf_repo: str
    files: tuple[CatalogFile, ...]
    mlx_repo: str | None
    strengths: tuple[str, ...]
    good_first: bool
    summary: str
    verified: bool
    # optional extras: architecture for the KV-cache size, and what was not checked
    n_layers: int | None = None
    kv_bytes_per_token: int | None = None
    note: str = ""
    unverified: tuple[str, ...] = field(default=())
    architecture: str = ""  # GGUF general.architecture: which llama.cpp code runs it
    reasoning: str = "no"  # REASONING
    tools: bool = False
    vision: bool = False  # reads images with a projector file (mmproj) beside the weights
    projector: CatalogFile | None = None
    moe: bool | None = None  # None: a mixture of experts when fewer parameters are active
    kind: str = "chat"  # KINDS

    @property
    def reasoning_text(self) -> str:
        return {"always": "Always thinks step by step before answering (slower to answer)",
                "switchable": "Can think step by step before answering; thinking can be switched off",
                }.get(self.reasoning, "Answers straight away (no thinking out loud)")

    def default_file(self) -> CatalogFile:
        """Q4_K_M when there is one (the usual quality/size balance), else the first listed."""
        return next((f for f in self.files if f.quant.upper() == DEFAULT_QUANT), self.files[0])

    @property
    def reads_pictures(self) -> bool:
        """A vision model whose images this app's engines read: one with its projector
        (M-RoPE ones too, Qwen-VL and Qwen3.5: engines/llamacpp_cache.py maps their positions)."""
        return self.vision and self.projector is not None

    def download_files(self, file: CatalogFile, projector: bool = True) -> list[str]:
        """What a download of `file` fetches: its files, then a vision model's projector
        (it lands beside the weights, where the engine's factory finds it)."""
        extra = list(self.projector.filenames) if projector and self.reads_pictures and self.projector else []
        return list(file.filenames) + extra

    def file(self, quant: str) -> CatalogFile | None:
        return next((f for f in self.files if f.quant.upper() == quant.upper()), None)

    @property
    def restrictive(self) -> bool:
        return bool(self.restrictions)

    @property
    def is_moe(self) -> bool:
        if self.moe is not None:
            return self.moe
        return self.active_params_b is not None and self.active_params_b < self.params_b

    @property
    def active_b(self) -> float:
        """Parameters read per token: the active ones (MoE, Gemma's "effective"), else all."""
        return self.active_params_b or self.params_b


# ---------------------------------------------------------------- loading

class _Check:
    """Typed reads from one JSON object with errors naming file, entry and field."""

    def __init__(self, path: Path, entry_id: str, obj: Any, prefix: str = "") -> None:
        self.path, self.entry_id, self.prefix = path, entry_id, prefix
        if not isinstance(obj, dict):
            self.fail("", "is not a JSON object")
        self.obj: dict[str, Any] = obj

    def fail(self, key: str, why: str) -> None:
        key = self.prefix + key if key else self.prefix.rstrip(".")
        where = f"entry {self.entry_id!r}" + (f", field {key!r}" if key else "")
        raise CatalogError(f"The model catalog {self.path.name} is invalid: {where} {why}.",
                           f"Fix {self.path}.")

    def get(self, key: str, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
        if key not in self.obj or self.obj[key] is None:
            if optional:
                return None
            self.fail(key, "is missing")
        value = self.obj[key]
        ok = isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, float, (int, float)))
        if not ok:
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            self.fail(key, f"should be {names}, not {type(value).__name__}")
        if isinstance(value, str) and not value.strip():
            self.fail(key, "is empty")
        return value

    def strings(self, key: str, *, optional: bool = False) -> tuple[str, ...]:
        values = self.get(key, list, optional=optional) or []
        if not all(isinstance(v, str) and v for v in values):
            self.fail(key, "should be a list of non-empty strings")
        return tuple(values)


def _file(c: _Check, raw: Any, index: int) -> CatalogFile:
    f = _Check(c.path, c.entry_id, raw, prefix=f"files[{index}].")
    quant = f.get("quant", str)
    parts = f.get("files", list)
    if not parts:
        c.fail(f"files[{index}].files", "is empty")
    names, sizes = [], []
    for p in parts:
        if not isinstance(p, dict) or not isinstance(p.get("filename"), str) \
                or not isinstance(p.get("size"), int) or isinstance(p.get("size"), bool) or p["size"] <= 0:
            c.fail(f"files[{index}]", "needs every part as {\"filename\": str, \"size\": bytes > 0}")
        names.append(p["filename"])
        sizes.append(p["size"])
    if len(names) > 1:  # shards must be complete and in order: -00001-of-0000N ...
        for i, name in enumerate(names, 1):
            m = SHARD_RE.search(name)
            if not m or int(m.group(1)) != i or int(m.group(2)) != len(names):
                c.fail(f"files[{index}]", f"has shard {name!r} out of order or misnamed "
                       f"(expected -{i:05d}-of-{len(names):05d}.gguf)")
    verified = f.get("verified", bool, optional=True)
    return CatalogFile(quant, tuple(names), sum(sizes), True if verified is None else verified, tuple(sizes))


def _entry(path: Path, raw: Any, index: int, kind: str = "chat") -> CatalogEntry:
    entry_id: str = raw["id"] if isinstance(raw, dict) and isinstance(raw.get("id"), str) else f"#{index}"
    c = _Check(path, entry_id, raw)
    c.get("id", str)
    if (c.get("kind", str, optional=True) or "chat") != kind:  # the list an entry sits in says what it is
        c.fail("kind", f"should be {kind!r} in this list (embedding models go in \"embedding_models\")")
    params = float(c.get("params_b", (int, float)))
    active = c.get("active_params_b", (int, float), optional=True)
    if params <= 0 or (active is not None and not 0 < active <= params):
        c.fail("active_params_b" if active is not None else "params_b", "is out of range")
    context = c.get("context_length", int)
    if context <= 0:
        c.fail("context_length", "should be positive")
    raw_files = c.get("files", list)
    if not raw_files:
        c.fail("files", "is empty")
    files = tuple(_file(c, f, i) for i, f in enumerate(raw_files))
    if len({f.quant.upper() for f in files}) != len(files):
        c.fail("files", "lists a quantization twice")
    n_layers = kv = None
    arch = c.get("arch", dict, optional=True)
    if arch is not None:
        a = _Check(path, entry_id, arch, prefix="arch.")
        n_layers, heads, head_dim = (a.get(k, int) for k in ("n_layers", "n_kv_heads", "head_dim"))
        kv_layers = a.get("kv_layers", int, optional=True) or n_layers  # hybrids: only attention layers cache
        if min(n_layers, heads, head_dim) <= 0 or not 0 < kv_layers <= n_layers:
            c.fail("arch", "needs positive n_layers, n_kv_heads and head_dim (and kv_layers <= n_layers)")
        kv = 2 * kv_layers * heads * head_dim * 2  # K and V, f16 (llama.cpp's default cache type)
    license_id = c.get("license", str)
    strengths = c.strings("strengths")
    if not strengths:
        c.fail("strengths", "is empty")
    unverified = c.strings("unverified", optional=True)
    explicit = c.get("verified", bool, optional=True)
    reasoning = c.get("reasoning", str)
    if reasoning not in REASONING:
        c.fail("reasoning", f"should be one of {', '.join(REASONING)}")
    vision = c.get("vision", bool)
    projector = None
    raw_proj = c.get("projector", dict, optional=True)
    if raw_proj is not None:
        projector = _file(c, {"quant": "mmproj", "files": [raw_proj], "verified": "projector" not in unverified}, 0)
    if vision and projector is None:
        c.fail("projector", "is missing: a vision model needs its projector file named")
    return CatalogEntry(
        id=entry_id, name=c.get("name", str), family=c.get("family", str), params_b=params,
        active_params_b=float(active) if active is not None else None, context_length=context,
        license_id=license_id, license_name=c.get("license_name", str), license_url=c.get("license_url", str),
        license_note=c.get("license_note", str),
        restrictions=license_restrictions(license_id) + c.strings("extra_restrictions", optional=True),
        gguf_repo=c.get("gguf_repo", str), files=files, mlx_repo=c.get("mlx_repo", str, optional=True),
        strengths=strengths, good_first=c.get("good_first", bool), summary=c.get("summary", str),
        verified=explicit is not False and not unverified and all(f.verified for f in files),
        n_layers=n_layers, kv_bytes_per_token=kv, note=c.get("note", str, optional=True) or "",
        unverified=unverified, architecture=c.get("architecture", str), reasoning=reasoning,
        tools=c.get("tools", bool), vision=vision, projector=projector, moe=c.get("moe", bool, optional=True),
        kind=kind,
    )


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CatalogError(f"The model catalog {path} could not be read ({exc.strerror or exc}).",
                           "Reinstall the app or restore the file.") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CatalogError(f"The model catalog {path.name} is not valid JSON ({exc}).", f"Fix {path}.") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"The model catalog {path.name} has no \"models\" list.", f"Fix {path}.")
    return data


def _entries(path: Path, key: str, kind: str, *, optional: bool = False) -> list[CatalogEntry]:
    data = _read(path)
    models = data.get(key, [] if optional else None)
    if not isinstance(models, list):
        raise CatalogError(f"The model catalog {path.name} has no \"{key}\" list.", f"Fix {path}.")
    entries = [_entry(path, raw, i, kind) for i, raw in enumerate(models)]
    seen: set[str] = set()
    for e in entries:
        if e.id in seen:
            raise CatalogError(f"The model catalog {path.name} is invalid: entry {e.id!r} appears twice.",
                               f"Fix {path}.")
        seen.add(e.id)
    return entries


def load_catalog(path: Path | None = None) -> list[CatalogEntry]:
    """Every chat model of the catalog, validated; CatalogError on any problem. Embedding
    models are not among them (`embedding_models()`): they are never offered for chat."""
    return _entries(Path(path) if path is not None else CATALOG_PATH, "models", "chat")


def embedding_models(path: Path | None = None) -> list[CatalogEntry]:
    """The catalog's embedding models (kind "embedding"), for Documents; the default first."""
    path = Path(path) if path is not None else CATALOG_PATH
    entries = _entries(path, "embedding_models", "embedding", optional=True)
    chat_ids = {e.id for e in load_catalog(path)}
    for e in entries:
        if e.id in chat_ids:
            raise CatalogError(f"The model catalog {path.name} is invalid: entry {e.id!r} is both a chat and an "
                               "embedding model.", f"Fix {path}.")
    return sorted(entries, key=lambda e: e.id != DEFAULT_EMBEDDING_ID)


def default_embedding_model(path: Path | None = None) -> CatalogEntry | None:
    """The embedding model the first use of Documents offers to download (None: none listed)."""
    return next(iter(embedding_models(path)), None)


def supported_architectures(path: Path | None = None) -> frozenset[str]:
    """The GGUF architectures our llama.cpp build can load (tools/llama_archs.py writes the list)."""
    text = (Path(path) if path is not None else ARCHS_PATH).read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def offered(entries: list[CatalogEntry], archs: frozenset[str] | None = None) -> list[CatalogEntry]:
    """The entries this build of llama.cpp can run: others are never offered."""
    archs = supported_architectures() if archs is None else archs
    return [e for e in entries if e.architecture in archs]

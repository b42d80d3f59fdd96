"""Licenses shown in the About dialog: the app's, its main components', the models'."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from assistant import __version__
from assistant.core.gguf_meta import read_gguf
from assistant.core.types import ModelRef
from assistant.errors import ModelError

APP_LICENSE = "Apache-2.0"


@dataclass(frozen=True)
class Component:
    name: str
    version: str
    license: str
    url: str


# (name, distribution for the version, license, home page); licenses as their projects state them
_COMPONENTS = (
    ("Qt for Python (PySide6)", "pyside6-essentials", "LGPL-3.0-only", "https://www.qt.io/qt-for-python"),
    ("llama.cpp", None, "MIT", "https://github.com/ggml-org/llama.cpp"),
    ("llama-cpp-python", "llama-cpp-python", "MIT", "https://github.com/abetlen/llama-cpp-python"),
    ("MLX / mlx-lm (Apple Silicon)", "mlx-lm", "MIT", "https://github.com/ml-explore/mlx"),
    ("mlx-vlm (MLX vision, Apple Silicon)", "mlx-vlm", "MIT", "https://github.com/Blaizzy/mlx-vlm"),
    ("huggingface_hub", "huggingface-hub", "Apache-2.0", "https://github.com/huggingface/huggingface_hub"),
    ("gguf", "gguf", "MIT", "https://github.com/ggml-org/llama.cpp/tree/master/gguf-py"),
    ("Jinja2", "jinja2", "BSD-3-Clause", "https://palletsprojects.com/p/jinja/"),
    ("Pygments", "pygments", "BSD-2-Clause", "https://pygments.org"),
    ("keyring", "keyring", "MIT", "https://github.com/jaraco/keyring"),
    ("platformdirs", "platformdirs", "MIT", "https://github.com/tox-dev/platformdirs"),
    ("psutil", "psutil", "BSD-3-Clause", "https://github.com/giampaolo/psutil"),
)


def _version(dist: str | None) -> str:
    if dist is None:
        return "bundled"
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def components() -> list[Component]:
    return [Component(name, _version(dist), lic, url) for name, dist, lic, url in _COMPONENTS]


def app_version() -> str:
    return __version__


def model_license(ref: ModelRef) -> str:
    """The license a model declares: GGUF `general.license`, or an MLX folder's model card."""
    if ref.format == "gguf":
        try:
            return read_gguf(ref.path).license or "not stated in the file"
        except ModelError:
            return "unreadable file"
    card = Path(ref.path) / "README.md"
    try:
        head = card.read_text(encoding="utf-8", errors="replace")[:4000]
    except OSError:
        return "not stated"
    for line in head.splitlines():
        if line.strip().lower().startswith("license:"):
            return line.split(":", 1)[1].strip() or "not stated"
    return "not stated"

"""The manifest next to a downloaded model: what was downloaded, from where, verified how.

`models/<org>__<repo>/.assistant-model.json` is written only after every file of a
download is complete and its SHA-256 verified, so its presence means "this folder holds
a whole model". Written atomically (temp file + rename): a crash never leaves half a
manifest. A folder may hold several quants of one repo; the file list is then the union,
each entry with its own quant, and the top-level quant is the latest download's.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MANIFEST_NAME = ".assistant-model.json"


@dataclass(frozen=True)
class ManifestFile:
    filename: str
    size: int
    sha256: str | None
    quant: str | None = None


@dataclass(frozen=True)
class ModelManifest:
    repo_id: str
    revision: str
    files: tuple[ManifestFile, ...]
    quant: str | None = None
    format: str = "gguf"
    license: str | None = None
    license_name: str | None = None
    catalog_id: str | None = None
    downloaded_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["files"] = [asdict(f) for f in self.files]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelManifest:
        files = tuple(
            ManifestFile(str(f["filename"]), int(f["size"]), f.get("sha256"), f.get("quant"))
            for f in data.get("files", [])
        )
        return cls(
            repo_id=str(data["repo_id"]),
            revision=str(data.get("revision") or "main"),
            files=files,
            quant=data.get("quant"),
            format=str(data.get("format") or "gguf"),
            license=data.get("license"),
            license_name=data.get("license_name"),
            catalog_id=data.get("catalog_id"),
            downloaded_at=str(data.get("downloaded_at") or ""),
        )


def manifest_path(folder: Path) -> Path:
    return folder / MANIFEST_NAME


def write_manifest(folder: Path, m: ModelManifest) -> Path:
    """Write atomically; files already listed by an earlier manifest of the folder are kept."""
    old = read_manifest(folder)
    if old is not None and old.repo_id == m.repo_id:
        new_names = {f.filename for f in m.files}
        kept = tuple(f for f in old.files if f.filename not in new_names and (folder / f.filename).is_file())
        m = ModelManifest(**{**m.__dict__, "files": kept + tuple(m.files)})
    folder.mkdir(parents=True, exist_ok=True)
    path = manifest_path(folder)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(m.to_dict(), f, indent=2, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def read_manifest(folder: Path) -> ModelManifest | None:
    """The folder's manifest, or None when there is none or it cannot be read."""
    try:
        data = json.loads(manifest_path(folder).read_text(encoding="utf-8"))
        return ModelManifest.from_dict(data)
    except (OSError, ValueError, TypeError, KeyError):
        return None

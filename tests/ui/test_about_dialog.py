from __future__ import annotations

from pathlib import Path

from assistant.core.types import ModelRef
from assistant.licenses import components, model_license
from assistant.ui.about_dialog import AboutDialog


def test_about_lists_version_components_and_model_licenses(qtbot, qtmodeltester, gemma_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    mlx = tmp_path / "Some-MLX-4bit"
    mlx.mkdir()
    (mlx / "README.md").write_text("---\nlicense: apache-2.0\n---\n# card")
    refs = [ModelRef(gemma_path, "gguf", "gemma"), ModelRef(mlx, "mlx", "Some-MLX-4bit")]
    dlg = AboutDialog(refs)
    qtbot.addWidget(dlg)
    qtmodeltester.check(dlg.components)
    qtmodeltester.check(dlg.models)
    licenses = {dlg.models.index(r, 0).data(): dlg.models.index(r, 2).data() for r in range(2)}
    # the Gemma GGUF declares its own license in general.license
    assert licenses == {"gemma": "gemma", "Some-MLX-4bit": "apache-2.0"}
    names = [c.name for c in components()]
    assert "llama.cpp" in names and any("PySide6" in n for n in names)
    assert all(c.version != "not installed" for c in components() if "MLX" not in c.name)


def test_model_license_of_an_unreadable_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.gguf"
    bad.write_text("nope")
    assert model_license(ModelRef(bad, "gguf")) == "unreadable file"

"""Small dialogs shared by the window's parts."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget

from assistant.core.gguf_meta import check_gguf_header
from assistant.errors import AssistantError

TEXT_CHARS = 56  # the rename box shows a long title whole


def ask_text(parent: QWidget, title: str, label: str, text: str = "") -> tuple[str, bool]:
    """QInputDialog.getText, wide enough for its title and for a long current value."""
    dlg = QInputDialog(parent)
    dlg.setWindowTitle(title)
    dlg.setLabelText(label)
    dlg.setInputMode(QInputDialog.InputMode.TextInput)
    dlg.setTextEchoMode(QLineEdit.EchoMode.Normal)
    dlg.setTextValue(text)
    fm = dlg.fontMetrics()
    # the dialog sizes itself to its layout: widen the field, not the dialog
    field = dlg.findChild(QLineEdit)
    wide = max(fm.averageCharWidth() * TEXT_CHARS, fm.horizontalAdvance(title) + 160)
    if field is not None:
        field.setMinimumWidth(min(wide, fm.horizontalAdvance(text) + fm.averageCharWidth() * 4) if text else wide)
        field.setMinimumWidth(max(field.minimumWidth(), fm.averageCharWidth() * 40))
    ok = dlg.exec() == QInputDialog.DialogCode.Accepted
    value = dlg.textValue()
    dlg.deleteLater()
    return value, ok


def choose_model_file(parent: QWidget, title: str) -> str | None:
    """A file chooser for a GGUF model on this computer; a file that is not one is said so
    (None then, as for Cancel)."""
    path, _ = QFileDialog.getOpenFileName(parent, title, str(Path.home()), "GGUF models (*.gguf);;All files (*)")
    if not path:
        return None
    try:
        check_gguf_header(Path(path))
    except AssistantError as exc:
        QMessageBox.warning(parent, "This file cannot be used", str(exc))
        return None
    return path

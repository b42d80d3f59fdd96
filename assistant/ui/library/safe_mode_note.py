"""The safe-mode note in a model's settings: shown only when a crash made this model
load with some llama.cpp features off on this computer (engines/safe_mode.py), with a
button that forgets that, so the next load tries normal settings again."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from assistant.engines import safe_mode


class SafeModeNote(QFrame):
    safe_mode_reset = Signal(object)  # the model's path

    def __init__(self, model: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Safe mode")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.reset_button = QPushButton("Use &normal settings")
        self.reset_button.setAccessibleName("Use normal settings")
        self.reset_button.setToolTip("Forget safe mode for this model: the next load tries every feature again. "
                                     "If it crashes again, safe mode comes back by itself.")
        self.reset_button.clicked.connect(self._on_reset_clicked)
        lay = QHBoxLayout(self)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.reset_button)
        self.refresh()

    def refresh(self) -> None:
        entry = safe_mode.get(self.model)
        self.setVisible(entry is not None)
        if entry is None:
            return
        when = time.strftime("%d %b %Y", time.localtime(entry.time)) if entry.time else "earlier"
        why = f", after {entry.reason}," if entry.reason else ""
        off = entry.settings.describe().removeprefix("off: ").split(", ")
        what = ", ".join(off[:-1]) + " and " + off[-1] if len(off) > 1 else off[0]
        self.label.setText(
            f"<b>Safe mode</b> (step {entry.level} of {safe_mode.MAX_LEVEL}): since {when}{why} this model "
            f"loads on this computer with {what} turned off. It may be slower.")

    def _on_reset_clicked(self) -> None:
        safe_mode.reset(self.model)
        self.setVisible(False)
        self.safe_mode_reset.emit(self.model)

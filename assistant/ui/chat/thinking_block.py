"""A reasoning model's thinking above its answer: collapsed by default ("Thought for 12 s"),
opened with its arrow, growing live while the model thinks ("Thinking…")."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from assistant.ui.common.collapsed import CollapsedBlock


def thinking_title(streaming: bool, seconds: float | None) -> str:
    if streaming:
        return "Thinking…"
    if seconds is None:
        return "Thoughts"
    if seconds < 1:
        return "Thought for less than a second"
    return f"Thought for {seconds:.0f} s" if seconds < 90 else f"Thought for {seconds / 60:.0f} min"


class ThinkingBlock(CollapsedBlock):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("thinking", "the thinking", parent)
        self.body.setAccessibleName("The model's thinking")
        self._text = ""
        self._shown = ""  # what the label holds: only filled while open (long thinking is costly to lay out)
        self._on_toggled(False)

    def text(self) -> str:
        return self._text

    def set_thinking(self, text: str, *, streaming: bool, seconds: float | None) -> None:
        self._text = text.strip()
        self.setVisible(bool(self._text) or streaming and bool(text))
        self.toggle.setText(thinking_title(streaming, seconds))
        if self.expanded:
            self._fill()

    def _fill(self) -> None:
        if self._shown != self._text:
            self._shown = self._text
            self.body.setText(self._text)

    def _on_toggled(self, on: bool) -> None:
        super()._on_toggled(on)
        if on:
            self._fill()

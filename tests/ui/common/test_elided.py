"""Elision cuts names, never figures, and always shows that it cut (an ellipsis)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWidget

from assistant.ui.common.elided import ElidedComboBox, ElidedLabel

DETAILS = "Local · gemma-3-270m-q4_k_m · llama.cpp · 94.8 tokens/s"
NAME = "gemma-3-270m-q4_k_m"


@pytest.mark.parametrize("chars", [48, 44, 40])
def test_the_name_is_cut_and_the_figures_stay_whole(qtbot, chars: int) -> None:  # type: ignore[no-untyped-def]
    label = ElidedLabel(DETAILS)
    qtbot.addWidget(label)
    label.set_elidable(NAME)
    label.resize(label.fontMetrics().averageCharWidth() * chars, 20)
    label.show()
    shown = label.elided_text()
    assert shown != DETAILS and "…" in shown
    assert shown.startswith("Local · ") and shown.endswith(" · llama.cpp · 94.8 tokens/s")
    assert label.fontMetrics().horizontalAdvance(shown) <= label.contentsRect().width()
    assert DETAILS in label.toolTip()  # the whole text is a hover away


def test_without_a_name_the_old_cut_applies_and_a_fitting_text_is_whole(qtbot) -> None:  # type: ignore[no-untyped-def]
    label = ElidedLabel(DETAILS)
    qtbot.addWidget(label)
    label.resize(label.fontMetrics().horizontalAdvance(DETAILS) + 10, 20)
    label.set_elidable(NAME)
    assert label.elided_text() == DETAILS
    label.set_elidable("")
    label.resize(label.fontMetrics().averageCharWidth() * 20, 20)
    assert "…" in label.elided_text()


def test_a_cut_combo_box_shows_an_ellipsis(qtbot) -> None:  # type: ignore[no-untyped-def]
    box = ElidedComboBox()
    qtbot.addWidget(box)
    box.addItem("gemma-3-270m-q4_k_m-instruct-extra-long-name")
    box.setFixedWidth(box.fontMetrics().averageCharWidth() * 24)
    box.show()
    shown = box.shown_text()
    assert "…" in shown and shown.startswith("gemma") and shown.endswith("name")
    box.setFixedWidth(box.fontMetrics().horizontalAdvance(box.currentText()) + 80)
    assert box.shown_text() == box.currentText()
    box.grab()  # paints without error


def test_a_parent_layout_is_not_widened(qtbot) -> None:  # type: ignore[no-untyped-def]
    host = QWidget()
    qtbot.addWidget(host)
    label = ElidedLabel("x" * 400, host)
    label.set_elidable("x" * 400)
    assert label.minimumSizeHint().width() < 100

"""The settings dialog: loads a Settings, emits an edited copy, cancels cleanly, is accessible."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect, QSize, Qt, QUrl
from PySide6.QtWidgets import (
    QAbstractButton,
    QComboBox,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QSpinBox,
    QWidget,
)

from assistant.paths import Paths, get_paths
from assistant.settings import Settings
from assistant.ui.settings.dialog import OFFLINE_EXPLANATION, SettingsDialog

INPUTS = (QAbstractButton, QComboBox, QSpinBox, QPlainTextEdit, QLineEdit)


@pytest.fixture
def paths(home: Path) -> Paths:
    return get_paths()


@pytest.fixture
def settings() -> Settings:
    return Settings(
        theme="dark", font_size=13, system_prompt="Be brief.", offline_mode=False,
        default_model="gemma.gguf", extra_models=["/models/a.gguf"], last_conversation_id=7,
    )


@pytest.fixture
def opened() -> list[QUrl]:
    return []


@pytest.fixture
def dialog(qtbot, settings: Settings, paths: Paths, opened: list[QUrl]) -> SettingsDialog:  # type: ignore[no-untyped-def]
    def opener(url: QUrl) -> bool:
        opened.append(url)
        return True

    dlg = SettingsDialog(settings, paths, open_url=opener)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    return dlg


def _button(dlg: SettingsDialog, which: QDialogButtonBox.StandardButton) -> QAbstractButton:
    return dlg.buttons.button(which)


def test_initial_values_reflect_settings(dialog: SettingsDialog, settings: Settings, paths: Paths) -> None:
    g = dialog.general
    assert g.theme_combo.currentData() == "dark"
    assert g.theme_combo.currentText() == "Dark"
    assert g.font_spin.value() == 13
    assert g.prompt_edit.toPlainText() == "Be brief."
    assert not g.offline_check.isChecked()
    assert g.data_path_edit.text() == str(paths.data_dir)
    assert g.data_path_edit.isReadOnly()
    assert dialog.current_settings() == settings
    assert not _button(dialog, QDialogButtonBox.StandardButton.Apply).isEnabled()


def test_theme_choices(dialog: SettingsDialog) -> None:
    combo = dialog.general.theme_combo
    labels = [combo.itemText(i) for i in range(combo.count())]
    assert labels == ["Light", "Dark", "Follow the system"]
    assert [combo.itemData(i) for i in range(combo.count())] == ["light", "dark", "system"]
    assert (dialog.general.font_spin.minimum(), dialog.general.font_spin.maximum()) == (8, 24)


def test_ok_emits_exactly_the_changes(qtbot, dialog: SettingsDialog, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    g = dialog.general
    g.theme_combo.setCurrentIndex(g.theme_combo.findData("light"))
    g.font_spin.setValue(16)
    g.prompt_edit.setPlainText("You answer in French.\nAlways.")
    # the box spans the row; its clickable part is the indicator and the label at the left
    qtbot.mouseClick(g.offline_check, Qt.MouseButton.LeftButton, pos=QPoint(8, g.offline_check.height() // 2))
    assert g.offline_check.isChecked()

    with qtbot.waitSignal(dialog.settings_changed, timeout=1000) as blocker:
        qtbot.mouseClick(_button(dialog, QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    new = blocker.args[0]
    expected = dataclasses.replace(
        settings, theme="light", font_size=16, system_prompt="You answer in French.\nAlways.", offline_mode=True,
    )
    assert new == expected
    assert new is not settings and new.extra_models is not settings.extra_models
    # the caller's object is untouched
    assert settings.theme == "dark" and settings.font_size == 13 and not settings.offline_mode
    assert dialog.result() == dialog.DialogCode.Accepted
    assert not dialog.isVisible()


def test_apply_emits_and_stays_open(qtbot, dialog: SettingsDialog) -> None:  # type: ignore[no-untyped-def]
    apply = _button(dialog, QDialogButtonBox.StandardButton.Apply)
    dialog.general.font_spin.setValue(20)
    assert apply.isEnabled()
    with qtbot.waitSignal(dialog.settings_changed, timeout=1000) as blocker:
        qtbot.mouseClick(apply, Qt.MouseButton.LeftButton)
    assert blocker.args[0].font_size == 20
    assert dialog.isVisible()
    assert not apply.isEnabled()
    # nothing new since Apply: OK has nothing to send
    with qtbot.assertNotEmitted(dialog.settings_changed):
        qtbot.mouseClick(_button(dialog, QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)


def test_editing_back_disables_apply(dialog: SettingsDialog) -> None:
    apply = _button(dialog, QDialogButtonBox.StandardButton.Apply)
    dialog.general.font_spin.setValue(14)
    assert apply.isEnabled()
    dialog.general.font_spin.setValue(13)
    assert not apply.isEnabled()


def test_cancel_emits_nothing(qtbot, dialog: SettingsDialog) -> None:  # type: ignore[no-untyped-def]
    dialog.general.font_spin.setValue(18)
    dialog.general.offline_check.setChecked(True)
    with qtbot.assertNotEmitted(dialog.settings_changed):
        qtbot.mouseClick(_button(dialog, QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    assert dialog.result() == dialog.DialogCode.Rejected
    assert not dialog.isVisible()


def test_escape_cancels(qtbot, dialog: SettingsDialog) -> None:  # type: ignore[no-untyped-def]
    dialog.general.font_spin.setValue(18)
    with qtbot.assertNotEmitted(dialog.settings_changed):
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert dialog.result() == dialog.DialogCode.Rejected
    assert not dialog.isVisible()


def test_offline_mode_by_keyboard(qtbot, dialog: SettingsDialog) -> None:  # type: ignore[no-untyped-def]
    g = dialog.general
    g.offline_check.setFocus()
    qtbot.keyClick(g.offline_check, Qt.Key.Key_Space)
    assert g.offline_check.isChecked()
    assert dialog.current_settings().offline_mode


def test_reset_prompt(qtbot, dialog: SettingsDialog) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(dialog.general.reset_prompt_button, Qt.MouseButton.LeftButton)
    assert dialog.general.prompt_edit.toPlainText() == Settings().system_prompt


def test_open_folder_calls_opener(qtbot, dialog: SettingsDialog, paths: Paths, opened: list[QUrl]) -> None:  # type: ignore[no-untyped-def]
    qtbot.mouseClick(dialog.general.open_folder_button, Qt.MouseButton.LeftButton)
    assert opened == [QUrl.fromLocalFile(str(paths.data_dir))]
    assert opened[0].isLocalFile()
    assert paths.data_dir.is_dir()
    assert not dialog.general.open_error.isVisible()


def test_open_folder_failure_is_explained(qtbot, settings: Settings, paths: Paths) -> None:  # type: ignore[no-untyped-def]
    dlg = SettingsDialog(settings, paths, open_url=lambda url: False)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.mouseClick(dlg.general.open_folder_button, Qt.MouseButton.LeftButton)
    assert dlg.general.open_error.isVisible()
    assert "could not be opened" in dlg.general.open_error.text()


def test_network_activity_button_emits(qtbot, dialog: SettingsDialog) -> None:  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(dialog.network_activity_requested, timeout=1000):
        qtbot.mouseClick(dialog.general.network_button, Qt.MouseButton.LeftButton)


def test_offline_explanation_shown(dialog: SettingsDialog) -> None:
    shown = [label for label in dialog.findChildren(QLabel) if label.isVisible() and label.text() == OFFLINE_EXPLANATION]
    assert len(shown) == 1
    # beside the switch it explains, and read out with it
    assert dialog.general.offline_check.accessibleDescription() == OFFLINE_EXPLANATION
    assert shown[0].parentWidget() is dialog.general.offline_check.parentWidget()


def test_every_input_has_an_accessible_name(dialog: SettingsDialog) -> None:
    widgets = [w for w in dialog.findChildren(QWidget) if isinstance(w, INPUTS) and w.isVisible()]
    assert len(widgets) >= 10  # 3 dialog buttons, combo, spin, prompt, reset, offline, network, path, open
    missing = [f"{type(w).__name__} {w.objectName()!r}" for w in widgets if not w.accessibleName().strip()]
    assert missing == []


def test_controls_have_mnemonics(dialog: SettingsDialog) -> None:
    g = dialog.general
    for button in (g.reset_prompt_button, g.offline_check, g.network_button, g.open_folder_button):
        assert "&" in button.text()
    buddies = {label.buddy() for label in dialog.findChildren(QLabel) if label.buddy() is not None}
    assert {g.theme_combo, g.font_spin, g.prompt_edit, g.data_path_edit} <= buddies
    assert g.prompt_edit.tabChangesFocus()


def test_tab_order_is_visual(dialog: SettingsDialog) -> None:
    g = dialog.general
    chain = [g.theme_combo, g.font_spin, g.prompt_edit, g.reset_prompt_button,
             g.offline_check, g.network_button, g.data_path_edit, g.open_folder_button]
    for a, b in zip(chain, chain[1:]):
        w = a.nextInFocusChain()
        # skip what cannot take focus and the inner editor of a spin box
        while w is not b and (w.focusPolicy() == Qt.FocusPolicy.NoFocus or a.isAncestorOf(w)):
            w = w.nextInFocusChain()
        assert w is b, f"after {a.accessibleName()} comes {w.accessibleName() or type(w).__name__}"


def test_fits_an_800x600_screen_with_nothing_cut_off(qtbot, dialog: SettingsDialog) -> None:  # type: ignore[no-untyped-def]
    dialog.resize(dialog.sizeHint().boundedTo(QSize(800, 560)))
    qtbot.waitUntil(lambda: dialog.width() <= 800 and dialog.height() <= 560)
    bounds = dialog.rect()
    inputs = [w for w in dialog.findChildren(QWidget) if isinstance(w, INPUTS) and w.isVisible()]
    assert inputs
    cut, unreachable = [], []
    for w in inputs:
        r = QRect(w.mapTo(dialog, QPoint(0, 0)), w.size())
        if r.right() > bounds.right():
            cut.append(w.accessibleName())  # nothing may run off the right edge
        scroll = next((a for a in _ancestors(w) if isinstance(a, QScrollArea)), None)
        if not bounds.contains(r) and scroll is None:
            unreachable.append(w.accessibleName())  # below the edge only inside a scroll area
    assert cut == [] and unreachable == []
    for area in dialog.findChildren(QScrollArea):
        if area.isVisible():  # tall pages scroll down, never sideways
            assert area.widget().width() <= area.viewport().width()


def _ancestors(w: QWidget) -> list[QWidget]:
    out = []
    p = w.parentWidget()
    while p is not None:
        out.append(p)
        p = p.parentWidget()
    return out


def test_add_tab(qtbot, dialog: SettingsDialog) -> None:  # type: ignore[no-untyped-def]
    extra = QLabel("Models go here")
    before = dialog.tabs.count()  # General and Hugging Face
    index = dialog.add_tab(extra, "&Models")
    assert dialog.tabs.count() == before + 1
    assert dialog.tabs.tabText(index) == "&Models"
    assert dialog.tabs.widget(index) is extra
    dialog.tabs.setCurrentIndex(index)
    qtbot.waitUntil(extra.isVisible)
    tall = QLabel("\n".join(f"line {i}" for i in range(200)))
    scrolled = dialog.add_tab(tall, "&Tall", scrollable=True)
    page = dialog.tabs.widget(scrolled)
    assert isinstance(page, QScrollArea) and page.widget() is tall  # a tall page scrolls, not clipped


def test_added_settings_page_joins_ok(qtbot, dialog: SettingsDialog, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Signal

    class ContextPage(QWidget):
        edited = Signal()

        def __init__(self) -> None:
            super().__init__()
            self.spin = QSpinBox()
            self.spin.setRange(512, 131072)
            self.spin.valueChanged.connect(self.edited)

        def load(self, s: Settings) -> None:
            self.spin.setValue(s.context_length)

        def apply_to(self, s: Settings) -> Settings:
            return dataclasses.replace(s, context_length=self.spin.value())

    page = ContextPage()
    dialog.add_tab(page, "&Engine")
    assert page.spin.value() == settings.context_length
    page.spin.setValue(8192)
    assert _button(dialog, QDialogButtonBox.StandardButton.Apply).isEnabled()
    with qtbot.waitSignal(dialog.settings_changed, timeout=1000) as blocker:
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert blocker.args[0] == dataclasses.replace(settings, context_length=8192)


def test_unknown_theme_shows_follow_the_system(qtbot, paths: Paths) -> None:  # type: ignore[no-untyped-def]
    dlg = SettingsDialog(Settings(theme="neon"), paths, open_url=lambda url: True)
    qtbot.addWidget(dlg)
    assert dlg.general.theme_combo.currentData() == "system"

"""Themes: light and dark palettes with readable contrast, "system", font size."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLineEdit, QProxyStyle

from assistant.ui.common.theme import apply_theme, colors, contrast_ratio, is_dark, make_palette, notifier, system_is_dark

R = QPalette.ColorRole
G = QPalette.ColorGroup

TEXT_PAIRS = [
    (R.WindowText, R.Window),
    (R.Text, R.Base),
    (R.Text, R.AlternateBase),
    (R.ButtonText, R.Button),
    (R.PlaceholderText, R.Base),
    (R.HighlightedText, R.Highlight),
    (R.ToolTipText, R.ToolTipBase),
    (R.Link, R.Base),
    (R.Link, R.Window),
    (R.LinkVisited, R.Base),
]


@pytest.fixture(autouse=True)
def _restore_theme(qapp: QApplication):  # type: ignore[no-untyped-def]
    """Other UI tests share the app: leave it light at the usual size."""
    font = qapp.font()
    yield
    apply_theme(qapp, "light", font.pointSize() if font.pointSize() > 0 else 11)


def test_light_then_dark(qapp: QApplication) -> None:
    assert apply_theme(qapp, "light", 11) is False
    assert qapp.palette().color(R.Window).lightness() > 200
    assert not is_dark(qapp)
    style = qapp.style()
    assert isinstance(style, QProxyStyle) and style.baseStyle().name().lower() == "fusion"

    assert apply_theme(qapp, "dark", 11) is True
    assert qapp.palette().color(R.Window).lightness() < 60
    assert is_dark(qapp)


@pytest.mark.parametrize("dark", [False, True])
def test_palette_text_contrast_meets_wcag_aa(dark: bool) -> None:
    pal = make_palette(dark)
    for fg, bg in TEXT_PAIRS:
        for group in (G.Active, G.Inactive):
            ratio = contrast_ratio(pal.color(group, fg), pal.color(group, bg))
            assert ratio >= 4.5, f"{fg.name}/{bg.name} in {group.name}: {ratio:.2f}"
    # disabled text looks inactive but stays legible
    assert contrast_ratio(pal.color(G.Disabled, R.Text), pal.color(G.Disabled, R.Base)) >= 2.5
    assert contrast_ratio(pal.color(G.Disabled, R.WindowText), pal.color(G.Disabled, R.Window)) >= 2.5


def test_applied_palette_contrast(qapp: QApplication) -> None:
    for theme in ("light", "dark"):
        apply_theme(qapp, theme, 11)
        pal = qapp.palette()
        assert contrast_ratio(pal.color(R.Text), pal.color(R.Base)) >= 4.5
        assert contrast_ratio(pal.color(R.WindowText), pal.color(R.Window)) >= 4.5


@pytest.mark.parametrize("dark", [False, True])
def test_named_colors_are_readable(dark: bool) -> None:
    pal = make_palette(dark)
    c = colors(dark)
    text = pal.color(R.Text)
    base = pal.color(R.Base)
    backgrounds = [base, QColor(c.user_bubble), QColor(c.assistant_bubble), QColor(c.code_background)]
    for bg in backgrounds:
        assert contrast_ratio(text, bg) >= 4.5
        assert contrast_ratio(QColor(c.muted_text), bg) >= 4.5
    for fg in (c.warning_text, c.error_text, c.link):
        assert contrast_ratio(QColor(fg), base) >= 4.5
        assert contrast_ratio(QColor(fg), QColor(c.assistant_bubble)) >= 4.5
    assert contrast_ratio(QColor(c.border), base) >= 3.0
    # the bubbles are told apart from the page, not only by hue
    assert QColor(c.user_bubble) != base and QColor(c.assistant_bubble) != base


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_field_outline_is_visible(qapp: QApplication, qtbot, theme: str) -> None:  # type: ignore[no-untyped-def]
    """Fusion's own outline vanishes on a dark field; ours is Colors.border (3:1)."""
    dark = apply_theme(qapp, theme, 11)
    edit = QLineEdit()
    qtbot.addWidget(edit)
    edit.resize(200, 40)
    image = edit.grab().toImage()
    base = qapp.palette().color(R.Base)
    edge = image.pixelColor(image.width() // 2, 0)  # top edge, away from the rounded corners
    assert contrast_ratio(edge, base) >= 2.5  # antialiasing softens the 3:1 line a little
    assert abs(edge.lightness() - QColor(colors(dark).border).lightness()) < 40


def test_contrast_ratio_extremes() -> None:
    assert contrast_ratio(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert contrast_ratio(QColor("#777777"), QColor("#777777")) == pytest.approx(1.0)


def test_system_applies_the_scheme_the_platform_reports(qapp: QApplication) -> None:
    dark = apply_theme(qapp, "system", 11)
    assert dark == system_is_dark(qapp.styleHints().colorScheme())  # offscreen reports Unknown: light
    window = qapp.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Window)
    assert window == make_palette(dark).color(QPalette.ColorGroup.Active, QPalette.ColorRole.Window)


def test_system_follows_color_scheme_changes(qapp: QApplication, qtbot) -> None:  # type: ignore[no-untyped-def]
    apply_theme(qapp, "system", 11)
    with qtbot.waitSignal(notifier().theme_applied, timeout=1000) as blocker:
        qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert blocker.args == [True]
    assert is_dark(qapp)
    qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert not is_dark(qapp)


def test_explicit_theme_ignores_color_scheme_changes(qapp: QApplication) -> None:
    apply_theme(qapp, "light", 11)
    qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert not is_dark(qapp)
    apply_theme(qapp, "dark", 11)
    qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert is_dark(qapp)


def test_font_size_applied_and_clamped(qapp: QApplication) -> None:
    apply_theme(qapp, "light", 15)
    assert qapp.font().pointSize() == 15
    apply_theme(qapp, "light", 200)
    assert qapp.font().pointSize() == 24
    apply_theme(qapp, "light", 1)
    assert qapp.font().pointSize() == 8


def test_unknown_theme_falls_back_to_system(qapp: QApplication) -> None:
    apply_theme(qapp, "purple", 11)
    # following the system, not stuck on light: a scheme change is obeyed both ways
    qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Dark)
    assert is_dark(qapp)
    qapp.styleHints().colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert not is_dark(qapp)

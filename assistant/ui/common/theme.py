"""Light and dark themes: the Fusion style with hand-picked palettes, and the app font size.

Widgets follow the theme through palette roles, so nothing here sets a global
stylesheet (that would override the palette and slow every repaint). Views that
render their own HTML (the chat transcript) take named colours from `colors()`
and re-render when `notifier().theme_applied` fires or on QEvent.PaletteChange.

The style is Fusion behind a thin proxy that draws input outlines (text fields,
spin/combo boxes, check boxes) in `Colors.border`, because Fusion's own outline
disappears on dark fields, and a focus ring (`Colors.link`, 2 px) on framed scroll areas
(the chat list, the message box, tables), which Fusion draws no focus for.

Every text/background pair in the palettes and in `Colors` meets WCAG AA (4.5:1);
tests/ui/test_theme.py checks it.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QApplication,
    QProxyStyle,
    QStyle,
    QStyleFactory,
    QStyleOption,
    QToolTip,
    QWidget,
)

THEMES = ("light", "dark", "system")
MIN_FONT_PT = 8
MAX_FONT_PT = 24

# QApplication dynamic properties: the handler for system colour-scheme changes
# reads them, so the choice survives without module-level globals per app.
# which theme is in force, and which application the colour-scheme signal is connected for
_state = {"theme": "system", "connected_app": 0}

R = QPalette.ColorRole
G = QPalette.ColorGroup


@dataclass(frozen=True)
class Colors:
    """Named colours (hex strings, usable in QColor and in HTML/CSS) for custom-drawn views."""

    user_bubble: str
    assistant_bubble: str
    border: str  # >= 3:1 against the base colour (WCAG non-text contrast)
    muted_text: str  # >= 4.5:1 on base, both bubbles and code background
    code_background: str
    warning_text: str
    error_text: str
    link: str


_LIGHT_COLORS = Colors(
    user_bubble="#dde9fb",
    assistant_bubble="#f0f1f3",
    border="#8c8c8c",
    muted_text="#5f5f5f",
    code_background="#f3f4f6",
    warning_text="#8a4b00",
    error_text="#b3261e",
    link="#0b57b0",
)

_DARK_COLORS = Colors(
    user_bubble="#1f3a5f",
    assistant_bubble="#2b2b2b",
    border="#6e6e6e",
    muted_text="#a8a8a8",
    code_background="#2d2d2d",
    warning_text="#f0b44c",
    error_text="#ff8a80",
    link="#6cb4ff",
)


def colors(dark: bool) -> Colors:
    return _DARK_COLORS if dark else _LIGHT_COLORS


# role -> (light, dark); applied to every colour group, then the disabled overrides below
_ROLES: dict[QPalette.ColorRole, tuple[str, str]] = {
    R.Window: ("#f3f3f3", "#262626"),
    R.WindowText: ("#1a1a1a", "#e8e8e8"),
    R.Base: ("#ffffff", "#1b1b1b"),
    R.AlternateBase: ("#f5f6f7", "#222222"),
    R.Text: ("#1a1a1a", "#e8e8e8"),
    R.PlaceholderText: ("#6b6b6b", "#9a9a9a"),
    R.Button: ("#ececec", "#353535"),
    R.ButtonText: ("#1a1a1a", "#e8e8e8"),
    # BrightText is drawn on Dark-ish surfaces (pressed buttons): white reads on both
    R.BrightText: ("#ffffff", "#ffffff"),
    # 3D shades that Fusion uses for frames, bevels and outlines
    R.Light: ("#ffffff", "#4a4a4a"),
    R.Midlight: ("#e3e3e3", "#3e3e3e"),
    R.Mid: ("#b8b8b8", "#2c2c2c"),
    R.Dark: ("#a0a0a0", "#1a1a1a"),
    R.Shadow: ("#696969", "#000000"),
    R.Highlight: ("#0a5fc2", "#2a64b0"),
    R.HighlightedText: ("#ffffff", "#ffffff"),
    R.Link: ("#0b57b0", "#6cb4ff"),
    R.LinkVisited: ("#6b3fa0", "#c9a6f5"),
    R.ToolTipBase: ("#fcfcf0", "#333333"),
    R.ToolTipText: ("#1a1a1a", "#f0f0f0"),
}

# Disabled text is meant to look inactive, but stays legible (about 3:1).
_DISABLED: dict[QPalette.ColorRole, tuple[str, str]] = {
    R.WindowText: ("#8a8a8a", "#7a7a7a"),
    R.Text: ("#8a8a8a", "#7a7a7a"),
    R.ButtonText: ("#8a8a8a", "#7a7a7a"),
    R.PlaceholderText: ("#a0a0a0", "#6a6a6a"),
    R.Base: ("#f3f3f3", "#222222"),
    R.Button: ("#f0f0f0", "#2e2e2e"),
    R.Highlight: ("#c8c8c8", "#4a4a4a"),
    R.HighlightedText: ("#4a4a4a", "#d0d0d0"),
    R.Link: ("#8a8a8a", "#7a7a7a"),
}


def make_palette(dark: bool) -> QPalette:
    i = 1 if dark else 0
    pal = QPalette()
    for role, pair in _ROLES.items():
        pal.setColor(role, QColor(pair[i]))  # all groups
    if hasattr(R, "Accent"):  # Qt 6.6+
        pal.setColor(R.Accent, QColor(_ROLES[R.Highlight][i]))
    for role, pair in _DISABLED.items():
        pal.setColor(G.Disabled, role, QColor(pair[i]))
    return pal


def relative_luminance(c: QColor) -> float:
    def lin(v: float) -> float:
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(c.redF()) + 0.7152 * lin(c.greenF()) + 0.0722 * lin(c.blueF())


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio, 1.0 to 21.0."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


STYLE_NAME = "assistant-fusion"  # objectName of our style, to set it only once
PE = QStyle.PrimitiveElement
CC = QStyle.ComplexControl
# input fields and check/radio boxes: their outline is how you see where they are
_OUTLINED_PRIMITIVES = {PE.PE_FrameLineEdit, PE.PE_PanelLineEdit, PE.PE_Frame,
                        PE.PE_IndicatorCheckBox, PE.PE_IndicatorRadioButton}
_OUTLINED_CONTROLS = {CC.CC_SpinBox, CC.CC_ComboBox}


class _ContrastStyle(QProxyStyle):
    """Fusion with input outlines at 3:1 against the field (WCAG 1.4.11).

    Fusion draws those outlines as Window.darker(140), which in a dark palette is
    the field colour itself, so text fields and check boxes vanish. For just those
    elements the option's Window is set so that darker(140) lands on `Colors.border`.
    """

    def __init__(self) -> None:
        super().__init__(QStyleFactory.create("Fusion"))
        self.setObjectName(STYLE_NAME)

    @staticmethod
    def _with_outline(option: QStyleOption) -> QPalette:
        original = QPalette(option.palette)
        pal = QPalette(original)
        dark = original.color(R.Window).lightness() < 128
        pal.setColor(R.Window, QColor(colors(dark).border).lighter(140))
        option.palette = pal
        return original

    def drawPrimitive(self, element: QStyle.PrimitiveElement, option: QStyleOption,  # noqa: N802
                      painter: QPainter, widget: QWidget | None = None) -> None:
        if element not in _OUTLINED_PRIMITIVES:
            return super().drawPrimitive(element, option, painter, widget)
        original = self._with_outline(option)
        try:
            super().drawPrimitive(element, option, painter, widget)
        finally:
            option.palette = original
        if element == PE.PE_Frame and option.state & QStyle.StateFlag.State_HasFocus and isinstance(widget, QAbstractScrollArea):
            dark = original.color(R.Base).lightness() < 128
            painter.save()
            painter.setPen(QPen(QColor(colors(dark).link), 2))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(QRectF(option.rect).adjusted(1, 1, -1, -1))
            painter.restore()

    def polish(self, arg):  # type: ignore[no-untyped-def]  # noqa: ANN001 (Qt overloads: widget / palette / app)
        result = super().polish(arg)
        if isinstance(arg, QAbstractScrollArea):
            arg.installEventFilter(self)  # its frame shows the focus: repaint it when focus moves
        return result

    def unpolish(self, arg):  # type: ignore[no-untyped-def]  # noqa: ANN001
        if isinstance(arg, QAbstractScrollArea):
            arg.removeEventFilter(self)
        return super().unpolish(arg)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() in (QEvent.Type.FocusIn, QEvent.Type.FocusOut) and isinstance(obj, QWidget):
            obj.update()
        return False

    def drawComplexControl(self, control: QStyle.ComplexControl, option: QStyleOption,  # noqa: N802
                           painter: QPainter, widget: QWidget | None = None) -> None:
        if control not in _OUTLINED_CONTROLS:
            return super().drawComplexControl(control, option, painter, widget)
        original = self._with_outline(option)
        try:
            super().drawComplexControl(control, option, painter, widget)
        finally:
            option.palette = original


class _Notifier(QObject):
    theme_applied = Signal(bool)  # dark


_notifier: _Notifier | None = None


def notifier() -> _Notifier:
    """One QObject whose `theme_applied(dark)` fires after every (re-)application."""
    global _notifier
    if _notifier is None:
        _notifier = _Notifier()
    return _notifier


def system_is_dark(scheme: Qt.ColorScheme | None = None) -> bool:
    """The platform's colour scheme; Unknown (e.g. offscreen, old desktops) counts as light."""
    if scheme is None:
        scheme = QGuiApplication.styleHints().colorScheme()
    return scheme == Qt.ColorScheme.Dark


def is_dark(app: QApplication) -> bool:
    return app.palette().color(G.Active, R.Window).lightness() < 128


def _set_palette(app: QApplication, dark: bool) -> None:
    pal = make_palette(dark)
    app.setPalette(pal)
    # tooltips keep their own palette, copied at start-up
    QToolTip.setPalette(pal)
    notifier().theme_applied.emit(dark)


def _request_scheme(app: QApplication, theme: str) -> None:
    """Tell the platform the scheme we want (Qt 6.8+), so native parts such as the
    Windows title bar match; "system" hands the choice back to the platform."""
    hints = app.styleHints()
    if theme == "system":
        if hasattr(hints, "unsetColorScheme"):
            hints.unsetColorScheme()
    elif hasattr(hints, "setColorScheme"):
        hints.setColorScheme(Qt.ColorScheme.Dark if theme == "dark" else Qt.ColorScheme.Light)


def _on_color_scheme_changed(scheme: Qt.ColorScheme) -> None:
    app = QApplication.instance()
    if isinstance(app, QApplication) and _state["theme"] == "system":
        _set_palette(app, system_is_dark(scheme))


def apply_theme(app: QApplication, theme: str, font_size: int) -> bool:
    """Apply a theme ("light" / "dark" / "system") and the font size; return whether it is dark."""
    if theme not in THEMES:
        theme = "system"
    if app.style().objectName() != STYLE_NAME:  # setStyle re-polishes everything: only once
        app.setStyle(_ContrastStyle())
    _state["theme"] = theme
    if _state["connected_app"] != id(app):  # connect once per application object
        app.styleHints().colorSchemeChanged.connect(_on_color_scheme_changed)
        _state["connected_app"] = id(app)
    _request_scheme(app, theme)
    dark = system_is_dark() if theme == "system" else theme == "dark"
    _set_palette(app, dark)

    font = app.font()
    font.setPointSize(max(MIN_FONT_PT, min(MAX_FONT_PT, int(font_size))))
    app.setFont(font)
    return dark

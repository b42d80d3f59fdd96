"""One model's settings: context length, system prompt and temperature; the Advanced
switch (remembered in settings.advanced_settings) adds GPU layers, threads, the other
sampling values, a chat template override and the engine when two could run it.
When a crash put the model in safe mode, a note at the top says so and can reset it.

OK emits `model_settings_changed(ref, old, new)`; the main window stores them and
reloads the model when a load option of the loaded model changed.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from assistant import model_settings as msm
from assistant.core.names import short_model_name
from assistant.core.types import ModelRef
from assistant.engines import model_template
from assistant.model_settings import ModelSettings
from assistant.settings import Settings
from assistant.ui.library.model_help import add_help
from assistant.ui.library.safe_mode_note import SafeModeNote
from assistant.ui.library.speed_options import SpeedOptions

AUTO = "Automatic"
THINKING_CHOICES = {
    "toggle": [("On: think before answering", "on"), ("Off: answer at once", "off")],
    "effort": [("Low", "low"), ("Medium", "medium"), ("High", "high")],
}


def _spin(lo: int, hi: int, step: int, name: str, special: str | None = None) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setAccessibleName(name)
    if special:
        s.setSpecialValueText(special)
    return s


def _dspin(lo: float, hi: float, step: float, name: str, decimals: int = 2) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setSingleStep(step)
    s.setDecimals(decimals)
    s.setAccessibleName(name)
    return s


class ModelSettingsDialog(QDialog):
    model_settings_changed = Signal(object, object, object)  # ModelRef, old, new ModelSettings
    advanced_toggled = Signal(bool)

    def __init__(self, ref: ModelRef, settings: Settings, engines: list[str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ref, self.settings = ref, settings
        self.setWindowTitle(f"Settings for {short_model_name(ref.display_name)}")
        self.old = msm.get(settings, ref.path)
        self.thinking_control = model_template.thinking_control(ref.path, self.old.chat_template)
        self.thinking_default = model_template.thinking_default(ref.path, self.old.chat_template)
        self.reasoning = model_template.is_reasoning(ref.path, self.old.chat_template)
        eff = msm.effective(settings, ref.path, reasoning=self.reasoning)
        intro = QLabel("These settings apply to this model only. Context, GPU, threads, template and engine "
                       "take effect when the model loads again; the rest from the next message.")
        intro.setWordWrap(True)
        self.safe_mode = SafeModeNote(ref.path)

        simple = QFormLayout()
        self.context = _spin(256, 262_144, 1024, "Context length")
        self.context.setSuffix(" tokens")
        self.context.setValue(int(eff.context_length or 4096))
        simple.addRow("&Context length:", self.context)
        self.temperature = _dspin(0.0, 2.0, 0.1, "Temperature")
        self.temperature.setValue(float(eff.temperature or 0.0))
        simple.addRow("&Temperature:", self.temperature)
        self.thinking = QComboBox()
        self.thinking.setAccessibleName("Thinking")
        for label, value in THINKING_CHOICES.get(self.thinking_control or "", []):
            self.thinking.addItem(label, value)
        self.thinking.setCurrentIndex(max(0, self.thinking.findData(eff.thinking or self.thinking_default)))
        self.thinking.setToolTip("A reasoning model thinks before it answers: better answers to hard questions, "
                                 "but slower. The thinking is shown collapsed above the answer.")
        if self.thinking_control:
            simple.addRow("Th&inking:" if self.thinking_control == "toggle" else "Th&inking effort:", self.thinking)
        self.system_prompt = QPlainTextEdit(eff.system_prompt or "")
        self.system_prompt.setAccessibleName("System prompt")
        self.system_prompt.setFixedHeight(self.fontMetrics().lineSpacing() * 4)
        simple.addRow("&System prompt:", self.system_prompt)

        self.advanced_box = QWidget()
        adv = QFormLayout(self.advanced_box)
        adv.setContentsMargins(0, 0, 0, 0)
        self.gpu_layers = _spin(-1, 999, 1, "GPU layers", special=AUTO)
        self.gpu_layers.setValue(int(eff.n_gpu_layers if eff.n_gpu_layers is not None else -1))
        self.gpu_layers.setToolTip("Automatic: as many as fit in the GPU's memory. 0: CPU only.")
        adv.addRow("&GPU layers:", self.gpu_layers)
        self.threads = _spin(0, 256, 1, "Threads", special=AUTO)
        self.threads.setValue(int(eff.n_threads or 0))
        adv.addRow("T&hreads:", self.threads)
        self.top_p = _dspin(0.0, 1.0, 0.05, "Top-p")
        self.top_p.setValue(float(eff.top_p or 0.0))
        adv.addRow("Top-&p:", self.top_p)
        self.top_k = _spin(0, 1000, 5, "Top-k")
        self.top_k.setValue(int(eff.top_k or 0))
        adv.addRow("Top-&k:", self.top_k)
        self.min_p = _dspin(0.0, 1.0, 0.01, "Min-p")
        self.min_p.setValue(float(eff.min_p or 0.0))
        adv.addRow("&Min-p:", self.min_p)
        self.repeat_penalty = _dspin(1.0, 2.0, 0.05, "Repeat penalty")
        self.repeat_penalty.setValue(float(eff.repeat_penalty or 1.0))
        adv.addRow("&Repeat penalty:", self.repeat_penalty)
        self.max_tokens = _spin(16, 32_768, 64, "Longest answer")
        self.max_tokens.setSuffix(" tokens")
        self.max_tokens.setValue(int(eff.max_tokens or 1024))
        adv.addRow("Longest &answer:", self.max_tokens)
        self.template = QPlainTextEdit(eff.chat_template or "")
        self.template.setAccessibleName("Chat template override")
        self.template.setPlaceholderText("Empty: the model's own chat template")
        self.template.setFixedHeight(self.fontMetrics().lineSpacing() * 3)
        adv.addRow("Chat t&emplate:", self.template)
        self.engine = QComboBox()
        self.engine.setAccessibleName("Engine")
        self.engine.addItem(AUTO, None)
        for e in engines or []:
            self.engine.addItem("MLX" if e == "mlx" else e, e)
        if eff.engine:
            i = self.engine.findData(eff.engine)
            self.engine.setCurrentIndex(max(0, i))
        self.engine_label = QLabel("E&ngine:")
        self.engine_label.setBuddy(self.engine)
        adv.addRow(self.engine_label, self.engine)
        both = len(engines or []) > 1
        self.engine.setVisible(both)
        self.engine_label.setVisible(both)
        # llama.cpp's speed options (their own widget: ui/library/speed_options.py)
        self.speed = SpeedOptions(ref.path)
        self.speed.set_values(eff)
        self.speed.set_context(self.context.value())
        self.context.valueChanged.connect(self.speed.set_context)
        self.speed.setVisible(ref.format == "gguf")
        adv.addRow(self.speed)

        self.advanced = QCheckBox("Show &advanced settings")
        self.advanced.setAccessibleName("Show advanced settings")
        self.advanced.setChecked(settings.advanced_settings)
        self.advanced_box.setVisible(settings.advanced_settings)
        self.advanced.toggled.connect(self._on_advanced_toggled)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(self._on_defaults)
        # the settings scroll (a large font or a small screen), the buttons stay in view
        self.body = QWidget()
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(intro)
        body.addWidget(self.safe_mode)
        body.addLayout(simple)
        body.addWidget(self.advanced)
        body.addWidget(self.advanced_box)
        body.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.body)
        lay = QVBoxLayout(self)
        lay.addWidget(self.scroll, 1)
        lay.addWidget(buttons)
        self._buttons = buttons
        add_help(self)
        self.setMinimumWidth(self.fontMetrics().averageCharWidth() * 70)
        self._fit_to_screen()

    def _fit_to_screen(self) -> None:
        """As tall as the settings, at most most of the screen (then they scroll)."""
        screen = (self.parentWidget() or self).screen().availableGeometry()
        m = self.layout().contentsMargins()
        want = (self.body.sizeHint().height() + self._buttons.sizeHint().height() + self.layout().spacing()
                + m.top() + m.bottom())
        width = max(self.minimumWidth(), self.body.sizeHint().width() + m.left() + m.right()
                    + self.scroll.verticalScrollBar().sizeHint().width())
        self.resize(min(width, screen.width() - 40), min(want, int(screen.height() * 0.9)))

    def _on_advanced_toggled(self, on: bool) -> None:
        self.settings.advanced_settings = on
        self.advanced_box.setVisible(on)
        self.advanced_toggled.emit(on)
        self._fit_to_screen()

    def _on_defaults(self) -> None:
        s, g = self.settings, self.settings.generation
        self.context.setValue(s.context_length)
        self.temperature.setValue(g.temperature)
        self.system_prompt.setPlainText(s.system_prompt)
        self.gpu_layers.setValue(s.n_gpu_layers)
        self.threads.setValue(s.n_threads)
        self.top_p.setValue(g.top_p)
        self.top_k.setValue(g.top_k)
        self.min_p.setValue(g.min_p)
        self.repeat_penalty.setValue(g.repeat_penalty)
        self.max_tokens.setValue(msm.default_max_tokens(s, self.reasoning))
        self.thinking.setCurrentIndex(max(0, self.thinking.findData(self.thinking_default)))
        self.template.setPlainText("")
        self.engine.setCurrentIndex(0)
        self.speed.restore_defaults()

    def values(self) -> ModelSettings:
        """Only values that differ from the app-wide defaults are kept as overrides."""
        s, g = self.settings, self.settings.generation

        def diff(value: Any, default: Any) -> Any:
            if isinstance(value, float) and isinstance(default, (int, float)):
                return None if abs(value - default) < 1e-9 else value
            return None if value == default else value

        return ModelSettings(
            context_length=diff(self.context.value(), s.context_length),
            system_prompt=diff(self.system_prompt.toPlainText(), s.system_prompt),
            temperature=diff(self.temperature.value(), g.temperature),
            n_gpu_layers=diff(self.gpu_layers.value(), s.n_gpu_layers),
            n_threads=diff(self.threads.value(), s.n_threads),
            top_p=diff(self.top_p.value(), g.top_p),
            top_k=diff(self.top_k.value(), g.top_k),
            min_p=diff(self.min_p.value(), g.min_p),
            repeat_penalty=diff(self.repeat_penalty.value(), g.repeat_penalty),
            max_tokens=diff(self.max_tokens.value(), msm.default_max_tokens(s, self.reasoning)),
            chat_template=self.template.toPlainText().strip() or None,
            engine=self.engine.currentData(),
            thinking=diff(self.thinking.currentData(), self.thinking_default) if self.thinking_control else None,
            **self.speed.values(),  # type: ignore[arg-type]
        )

    def accept(self) -> None:
        new = self.values()
        msm.put(self.settings, self.ref.path, new)
        self.model_settings_changed.emit(self.ref, self.old, new)
        super().accept()

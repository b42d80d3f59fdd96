"""llama.cpp's power-user options in a model's Advanced settings: flash attention, the KV
cache type (with the memory it takes for the chosen context), the batch size and
prompt lookup. A widget of its own, placed in the dialog's Advanced section.

The effects named in the help are measured by bench/llama_options.py on a CPU.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QComboBox, QFormLayout, QLabel, QWidget

from assistant.core import kv_cache
from assistant.core.gguf_meta import read_gguf
from assistant.core.units import format_bytes
from assistant.model_settings import ModelSettings

# (label, value); the first entry of each is the default
FLASH = [("Automatic", "auto"), ("On", "on"), ("Off", "off")]
KV = [("f16 (full precision)", "f16"), ("q8_0 (about half the memory)", "q8_0"), ("q4_0 (about a quarter)", "q4_0")]
BATCH = [(f"{n} tokens", n) for n in kv_cache.BATCH_SIZES]
LOOKUP = [("Automatic: when the answer repeats the chat", "auto"), ("Off", "off")]
DEFAULTS = {"flash_attn": "auto", "kv_cache_type": "f16", "n_batch": kv_cache.DEFAULT_BATCH, "prompt_lookup": "auto"}

HELP = {
    "flash_attn": "A faster way to compute attention that also needs less memory for long chats "
                  "(measured on a processor: answers about 3 % faster than with it off). "
                  "Automatic lets llama.cpp use it where it works; turn it off only if answers look broken. "
                  "A q8_0 or q4_0 cache needs it (with it off, only half the cache is made smaller).",
    "kv_cache_type": "How precisely the model's memory of the conversation is stored. q8_0 takes about half "
                     "the memory of f16 with answers that are nearly the same; q4_0 a quarter, with a small "
                     "loss in quality. It lets a longer context fit, but on a processor long messages are read "
                     "more slowly (measured: about 1.6 times slower at q8_0, 2.5 times at q4_0).",
    "n_batch": "How many tokens of your message the model reads at once. On a graphics card larger reads "
               "long messages faster; on a processor it changes little (measured: within 3 %). Larger needs "
               "a little more memory; it does not change how fast the answer is written.",
    "prompt_lookup": "When the answer repeats text from the chat (editing code you pasted, quoting), guess the "
                     "next words from that text and let the model check several at once: same answer, "
                     "written faster. It turns itself off while the guesses are wrong.",
}


def _combo(items: list[tuple[str, object]], name: str) -> QComboBox:
    c = QComboBox()
    c.setAccessibleName(name)
    for label, value in items:
        c.addItem(label, value)
    return c


class SpeedOptions(QWidget):
    def __init__(self, model_path: Path | str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        try:
            info = read_gguf(Path(model_path))
            self._per_token = kv_cache.f16_bytes_per_token(info.metadata, info.architecture)
        except Exception:  # not a readable GGUF (an MLX folder): no memory figure
            self._per_token = None
        self._context = 4096
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        self.flash_attn = _combo(FLASH, "Flash attention")  # type: ignore[arg-type]
        self.kv_cache_type = _combo(KV, "KV cache type")  # type: ignore[arg-type]
        self.n_batch = _combo(BATCH, "Batch size")  # type: ignore[arg-type]
        self.prompt_lookup = _combo(LOOKUP, "Prompt lookup")  # type: ignore[arg-type]
        self.memory = QLabel()
        self.memory.setWordWrap(True)
        for name, text in HELP.items():
            w = getattr(self, name)
            w.setToolTip(text)
            w.setAccessibleDescription(text)
        form.addRow("&Flash attention:", self.flash_attn)
        form.addRow("KV cache t&ype:", self.kv_cache_type)
        form.addRow("", self.memory)
        form.addRow("&Batch size:", self.n_batch)
        form.addRow("Prompt &lookup:", self.prompt_lookup)
        self.kv_cache_type.currentIndexChanged.connect(self._on_choice_changed)
        self.flash_attn.currentIndexChanged.connect(self._on_choice_changed)
        self._on_choice_changed()

    def set_values(self, ms: ModelSettings) -> None:
        for name, default in DEFAULTS.items():
            combo: QComboBox = getattr(self, name)
            value = getattr(ms, name)
            combo.setCurrentIndex(max(0, combo.findData(default if value is None else value)))

    def restore_defaults(self) -> None:
        self.set_values(ModelSettings())

    def values(self) -> dict[str, object]:
        """The overrides: None where the default is chosen."""
        out: dict[str, object] = {}
        for name, default in DEFAULTS.items():
            value = getattr(self, name).currentData()
            out[name] = None if value == default else value
        return out

    def set_context(self, tokens: int) -> None:
        self._context = tokens
        self._on_choice_changed()

    def _on_choice_changed(self, *_args: object) -> None:
        if self._per_token is None:
            self.memory.setText("")
            return
        full = self._per_token * self._context
        kind = self.kv_cache_type.currentData() or "f16"
        now = kv_cache.kv_bytes(full, kind, self.flash_attn.currentData() or "auto")
        text = f"The cache for {self._context:,} tokens takes up to {format_bytes(now)}"
        if now < full:
            text += f", {format_bytes(full - now)} less than at f16"
        self.memory.setText(text + ".")

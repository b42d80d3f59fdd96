"""One line on each model setting, as a tooltip and an accessible description (the
model settings dialog), in the plain words LM Studio and llama.cpp's docs use."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

HELP: dict[str, str] = {
    "context": "How much of the conversation the model can see at once, in tokens. "
               "More remembers more, and needs more memory.",
    "temperature": "How adventurous the wording is: 0 always picks the likeliest word; "
                   "about 0.7 is natural; above 1 gets random.",
    "system_prompt": "Instructions the model reads before every conversation: its role, tone and rules.",
    "gpu_layers": "How many of the model's layers run on the graphics card. "
                  "Automatic: as many as fit in its memory. 0: processor only.",
    "threads": "Processor threads used for the model. Automatic: one per physical core.",
    "top_p": "Only words among the likeliest that add up to this share are considered. "
             "1 turns it off; 0.9 to 0.95 is usual.",
    "top_k": "Only the k likeliest words are considered at each step. 0 turns it off; 40 is usual.",
    "min_p": "Words much less likely than the likeliest one (below this share of it) are dropped. "
             "0 turns it off; 0.05 is usual.",
    "repeat_penalty": "Makes words the model already used less likely, against loops. "
                      "1 turns it off; 1.1 is usual.",
    "max_tokens": "The longest answer, in tokens (a token is about ¾ of a word). The answer stops there.",
    "template": "How the conversation is laid out for the model (Jinja). Leave empty to use the model's own.",
    "engine": "Which program runs the model when more than one can.",
}


def add_help(dialog: QWidget) -> None:
    """Tooltip and accessible description on each control of the dialog that has a line here."""
    for name, text in HELP.items():
        w = getattr(dialog, name, None)
        if isinstance(w, QWidget):
            w.setToolTip(text)
            w.setAccessibleDescription(text)

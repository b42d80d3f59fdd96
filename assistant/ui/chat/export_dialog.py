"""File -> Export chat: ask where, write the Markdown or JSON, say how it went."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QStatusBar, QWidget

from assistant.chat.export import write_export
from assistant.chat.store import ChatStore


def export_conversation(parent: QWidget, store: ChatStore, conversation_id: int, kind: str, status: QStatusBar) -> None:
    conv = store.get_conversation(conversation_id) if conversation_id else None
    if conv is None:
        status.showMessage("Open a conversation to export it.", 3000)
        return
    safe = "".join(ch if ch.isalnum() or ch in " -_" else "_" for ch in conv.title).strip() or "chat"
    filt = "Markdown (*.md)" if kind == "md" else "JSON (*.json)"
    path, _ = QFileDialog.getSaveFileName(parent, "Export conversation", str(Path.home() / f"{safe}.{kind}"), filt)
    if not path:
        return
    try:
        messages = store.messages(conv.id)
        images = {m.id: store.message_images(m.id) for m in messages if m.role == "user"}
        write_export(Path(path), conv, messages, {k: v for k, v in images.items() if v})
    except OSError as exc:
        QMessageBox.warning(parent, "Export failed", f"Could not write {path}: {exc.strerror}.")
        return
    status.showMessage(f"Exported to {path}", 4000)

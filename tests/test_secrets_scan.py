"""After a session that used API keys, with the SDKs' debug logging switched on, no file
under ASSISTANT_HOME (settings, SQLite and its WAL, logs, the network record, the price
table) contains a key's text.

The session runs the real window: keys saved through Settings → Cloud into a real
Secret Service and checked, cloud answers from the real openai SDK (llama_cpp.server)
and the real anthropic SDK (a local Messages API server), a 401 with a wrong key.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from support.anthropic_server import AnthropicServer
from support.llama_server import ALIAS, running_llama_server
from support.secret_service import running_secret_service

from assistant import network
from assistant.chat.store import ChatStore
from assistant.logs import setup_logging
from assistant.paths import get_paths
from assistant.settings import Settings, load_settings
from assistant.ui.main_window import MainWindow
from assistant.ui.settings.dialog import SettingsDialog

OPENAI_KEY = "sk-local-scan-5e6f7a8b9c0d1e2f3a4b"
ANTHROPIC_KEY = "sk-ant-scan-0f1e2d3c4b5a69788796"
WRONG_KEY = "sk-wrong-scan-aa11bb22cc33dd44ee55"
DEBUG_LOGGERS = ["openai", "anthropic", "httpx", "httpcore", "httpx2", "httpcore2", "assistant"]
TIMEOUT = 120_000


@pytest.fixture
def debug_logging(app_root_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The app's own logging set-up (file + redaction), then every SDK logger at DEBUG."""
    monkeypatch.setenv("OPENAI_LOG", "debug")
    monkeypatch.setenv("ANTHROPIC_LOG", "debug")
    saved = {n: logging.getLogger(n).level for n in DEBUG_LOGGERS}
    paths = get_paths().ensure()
    setup_logging(paths.log_file, verbose=True)
    for n in DEBUG_LOGGERS:  # after set-up, which quietens httpx: the worst case
        logging.getLogger(n).setLevel(logging.DEBUG)
    try:
        yield paths.log_file
    finally:
        for n, level in saved.items():
            logging.getLogger(n).setLevel(level)


def _save_key(qtbot, w: MainWindow, provider: str, base_url: str, model: str, key: str) -> str:  # type: ignore[no-untyped-def]
    dlg = SettingsDialog(w.settings, w.paths, w)
    qtbot.addWidget(dlg)
    dlg.settings_changed.connect(w.apply_settings)
    w.cloud.add_settings_tab(dlg)
    p = w.cloud.settings_page
    p.provider_combo.setCurrentIndex(p.provider_combo.findData(provider))
    p.base_url_edit.setText(base_url)
    p.model_combo.setEditText(model)
    p.mode_combo.setCurrentIndex(p.mode_combo.findData("auto"))
    p.key_edit.setText(key)
    p.save_key_button.click()
    qtbot.waitUntil(lambda: p.save_key_button.isEnabled(), timeout=30_000)
    status = p.key_status.text()
    dlg.buttons.accepted.emit()  # OK: the settings are applied and saved
    return status


def _ask(qtbot, w: MainWindow, text: str):  # type: ignore[no-untyped-def]
    w.prompt.setPlainText(text)
    w.cloud.ask_button.click()
    qtbot.waitUntil(lambda: not w.session.busy, timeout=TIMEOUT)
    return w.store.messages(w.session.conversation_id)[-1]


def test_no_key_text_anywhere_in_the_data_folders(
    qtbot, home: Path, gemma_path: Path, tmp_path: Path, debug_logging: Path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *a, **k: shown.append(text))
    network.set_offline(False)
    with running_secret_service(), running_llama_server(gemma_path, tmp_path, OPENAI_KEY) as server, \
            AnthropicServer(ANTHROPIC_KEY) as claude:
        paths = get_paths().ensure()
        s = Settings(extra_models=[str(gemma_path)], context_length=2048, n_threads=2)
        s.generation.max_tokens = 6
        w = MainWindow(paths, s, ChatStore.open(paths.history_db))
        qtbot.addWidget(w)
        w.show()
        # the first model load stops any answer in flight: let it finish first
        qtbot.waitUntil(lambda: w.session.loaded is not None, timeout=TIMEOUT)
        try:
            assert _save_key(qtbot, w, "openai-compatible", server.base_url, ALIAS, OPENAI_KEY).endswith("The key works.")
            assert _ask(qtbot, w, "Say hello.").status == "complete"
            assert _save_key(qtbot, w, "anthropic", claude.base_url, "claude-test-1", ANTHROPIC_KEY).endswith("The key works.")
            answer = _ask(qtbot, w, "hello from the scan")
            assert answer.status == "complete" and answer.provider == "anthropic"
            assert "(401)" in _save_key(qtbot, w, "anthropic", claude.base_url, "claude-test-1", WRONG_KEY)
            failed = _ask(qtbot, w, "this one is refused")
            assert failed.status == "failed" and "(401)" in (failed.error or "")
            # said once, in the chat (no popup on top of it), and without the key
            inline = w.chat.widget_at(w.session.messages.rowCount() - 1)._error.text()
            assert shown == [] and "(401)" in inline and WRONG_KEY not in inline
        finally:
            w.close()
            w.store.close()
    for h in logging.getLogger().handlers:
        h.flush()

    assert load_settings(paths.settings_file).settings.cloud.provider == "anthropic"  # settings were saved
    log_text = debug_logging.read_text(encoding="utf-8", errors="replace")
    assert "openai" in log_text.lower() and "anthropic" in log_text.lower()  # debug logging was really on
    files = [p for p in home.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"settings.json", "history.sqlite3", "assistant.log", "network_activity.jsonl"} <= names
    for key in (OPENAI_KEY, ANTHROPIC_KEY, WRONG_KEY):
        for needle in (key.encode(), key.encode("utf-16-le"), key[-12:].encode()):
            hits = [str(p) for p in files if needle in p.read_bytes()]
            assert not hits, f"{key[:6]}… found in {hits}"
    print(f"scanned {len(files)} files ({sum(p.stat().st_size for p in files):,} bytes): no key text")

"""QApplication start-up in a fixed order.

1. paths and logging, 2. Qt messages -> logging and an excepthook that logs and
shows errors instead of dying silently, 3. settings (a damaged file is reported),
4. offline mode, theme, 5. the chat history, 6. the main window.
Nothing here opens a network connection.
"""

from __future__ import annotations

import logging
import signal
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox

from assistant import __version__, network
from assistant.chat.store import ChatStore
from assistant.errors import AssistantError
from assistant.logs import setup_logging
from assistant.paths import get_paths, unwritable_message
from assistant.settings import load_settings
from assistant.ui.common.icons import app_icon
from assistant.ui.common.theme import apply_theme
from assistant.ui.main_window import MainWindow

log = logging.getLogger("assistant.app")


def _qt_message(mode: QtMsgType, _ctx: object, message: str) -> None:
    level = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
    }.get(mode, logging.ERROR)
    logging.getLogger("qt").log(level, "%s", message)


def _excepthook(etype: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    log.error("unhandled error:\n%s", "".join(traceback.format_exception(etype, value, tb)))
    if QApplication.instance() is not None:
        text = str(value) if isinstance(value, AssistantError) else f"{etype.__name__}: {value}"
        QMessageBox.critical(None, "Something went wrong", f"{text}\n\nDetails are in the log file.")


@dataclass
class Started:
    window: Any  # MainWindow
    store: ChatStore
    settings_warning: str


def run_app(argv: list[str]) -> int:
    paths = get_paths().ensure()
    setup_logging(paths.log_file)
    qInstallMessageHandler(_qt_message)
    sys.excepthook = _excepthook
    app = QApplication(argv)
    app.setApplicationName("Assistant")
    app.setApplicationDisplayName("Assistant")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("assistant")  # matches packaging/linux/assistant.desktop
    started = start(app)
    if started is None:
        return 1
    ticker = _quit_on_sigterm(app, started.window)  # noqa: F841 - kept alive with the loop
    code = app.exec()
    started.store.close()
    return code


def _quit_on_sigterm(app: QApplication, window: Any) -> QTimer:
    """A logout or `kill` asks politely: close the window (it saves its state and stops the
    engine's process) and quit. Python runs signal handlers only between bytecodes, and
    Qt's event loop is C++: a quiet timer lets the handler in."""

    def handler(_signum: int, _frame: object) -> None:
        window.close()
        app.quit()

    signal.signal(signal.SIGTERM, handler)
    ticker = QTimer(app)
    ticker.timeout.connect(lambda: None)
    ticker.start(250)
    return ticker


def start(app: QApplication) -> Started | None:
    """Steps 3-6 on an existing QApplication (tests start the real app this way too)."""
    paths = get_paths().ensure()
    app.setWindowIcon(app_icon())
    loaded = load_settings(paths.settings_file)
    settings = loaded.settings
    network.set_offline(settings.offline_mode)
    dark = apply_theme(app, settings.theme, settings.font_size)
    unwritable = paths.unwritable()
    in_memory = False
    try:
        store = ChatStore.open(paths.history_db)
        purged = store.purge_trash()  # deletions whose undo window a crash cut short
        if purged:
            log.info("purged %d chats left in the trash by the last run", purged)
    except AssistantError as exc:
        if not unwritable:
            QMessageBox.critical(None, "The chat history cannot be opened", str(exc))
            return None
        # a read-only data folder: chat anyway, in a history that lives as long as the window
        log.info("chat history not opened (%s); this session's chats stay in memory", exc.message)
        store, in_memory = ChatStore.open(Path(":memory:")), True
    window = MainWindow(paths, settings, store)
    window.chat.set_dark(dark)
    window.show()
    log.info("window shown (assistant %s, offline mode %s)", __version__, "on" if settings.offline_mode else "off")
    if unwritable:
        note = " This session's chats are kept in memory only." if in_memory else ""
        QMessageBox.warning(window, "A folder cannot be written", unwritable_message(unwritable) + note)
    if loaded.warning:
        QMessageBox.warning(window, "Settings were reset", loaded.warning)
    return Started(window, store, loaded.warning)

"""QApplication start-up in a fixed order.

1. paths and logging, 2. Qt messages -> logging and an excepthook that logs and
shows errors instead of dying silently, 3. settings (a damaged file is reported),
4. the main window. Nothing here opens a network connection.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox

from . import __version__
from .logs import setup_logging
from .paths import get_paths
from .settings import load_settings

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
    app = QApplication.instance()
    if app is not None:
        QMessageBox.critical(None, "Something went wrong", f"{value}\n\nDetails are in the log file.")


def run_app(argv: list[str]) -> int:
    paths = get_paths().ensure()
    setup_logging(paths.log_file)
    qInstallMessageHandler(_qt_message)
    sys.excepthook = _excepthook
    app = QApplication(argv)
    app.setApplicationName("Assistant")
    app.setApplicationVersion(__version__)
    loaded = load_settings(paths.settings_file)

    from .ui.main_window import MainWindow

    window = MainWindow(paths, loaded.settings)
    window.show()
    if loaded.warning:
        QMessageBox.warning(window, "Settings were reset", loaded.warning)
    return app.exec()

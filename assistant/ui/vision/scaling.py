"""A picture too large to read whole, scaled down off the GUI thread as it is attached
(core/image_shrink.py runs it in a process of its own; this thread only waits for it)."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QThread, Signal

from assistant.core.image_format import ImageInfo
from assistant.core.image_shrink import shrink
from assistant.errors import AssistantError


class ScaleJob(QThread):
    succeeded = Signal(object)  # core.image_shrink.Shrunk
    failed = Signal(str)

    def __init__(self, path: Path, dest: Path, info: ImageInfo, parent: object = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self.path, self.dest, self.info = path, dest, info
        self.cancel = threading.Event()

    def run(self) -> None:
        try:
            result = shrink(self.path, self.dest, info=self.info, cancel=self.cancel)
        except AssistantError as exc:
            self.failed.emit(str(exc))
            return
        except OSError as exc:  # the staging folder: a full disk, no permission
            self.failed.emit(f"{self.path.name} could not be scaled down: {exc.strerror or exc}.")
            return
        self.succeeded.emit(result)

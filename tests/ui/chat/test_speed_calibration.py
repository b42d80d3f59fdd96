"""A local answer on the CPU calibrates the library's speed estimate for this machine."""

from __future__ import annotations

from pathlib import Path

from support.window import close_window, gemma_settings, open_window

from assistant import hardware
from assistant.library.speed import calibration_path, load_calibration
from assistant.paths import get_paths


def test_an_answer_on_the_cpu_calibrates_the_speed_estimate(qtbot, gemma_path: Path) -> None:  # type: ignore[no-untyped-def]
    w = open_window(qtbot, gemma_settings(gemma_path, max_tokens=32, n_gpu_layers=0))
    try:
        data = get_paths().data_dir
        assert not calibration_path(data).exists()
        assert w.session.send("Count from one to thirty in words, please.")
        qtbot.waitUntil(lambda: not w.session.busy, timeout=120_000)
        qtbot.waitUntil(lambda: calibration_path(data).exists(), timeout=20_000)
        cal = load_calibration(data, hardware.detect())
        assert cal.samples == 1 and cal.factor > 0
    finally:
        close_window(w)

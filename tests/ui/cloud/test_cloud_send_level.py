"""Settings → Cloud: the "send to the cloud: rarely … often" slider shows the measured
precision and recall for its level and reaches the settings."""

from __future__ import annotations

import dataclasses

import pytest

from assistant.chat import router_tradeoff
from assistant.chat.store import ChatStore
from assistant.paths import get_paths
from assistant.settings import CloudSettings, Settings
from assistant.ui.cloud.settings_page import CloudSettingsPage
from assistant.ui.cloud.worker import CloudHost
from assistant.ui.settings.dialog import SettingsDialog


@pytest.fixture
def page(qtbot):  # type: ignore[no-untyped-def]
    paths = get_paths().ensure()
    store = ChatStore.open(paths.history_db)
    host = CloudHost(store)
    settings = Settings(cloud=CloudSettings(provider="openai-compatible", model="m", routing_mode="auto",
                                            send_level=-2))
    dlg = SettingsDialog(settings, paths)
    qtbot.addWidget(dlg)
    p = CloudSettingsPage(host, store)
    dlg.add_tab(p, "&Cloud", scrollable=True)
    p.load(settings)
    yield dlg, p
    host.shutdown()
    store.close()


def test_slider_shows_the_level_s_figures_and_reaches_the_settings(page) -> None:  # type: ignore[no-untyped-def]
    dlg, p = page
    assert p.send_slider.value() == -2 and p.send_slider.isEnabled()
    assert p.send_level_label.text().startswith("Rarely: on the test prompts")
    rarely = router_tradeoff.tradeoff(-2, semantic=False)  # no embedding model in use here
    assert rarely.precision is not None and f"{rarely.precision:.0%} of what is sent" in p.send_level_label.text()

    got: list[Settings] = []
    dlg.settings_changed.connect(got.append)
    p.send_slider.setValue(2)
    often = router_tradeoff.tradeoff(2, semantic=False)
    assert p.send_level_label.text().startswith("Often:")
    assert often.recall is not None and f"{often.recall:.0%} of what needs it is sent" in p.send_level_label.text()
    assert p.send_slider.accessibleDescription() == p.send_level_label.text()
    assert dlg.apply_button.isEnabled()
    dlg.apply_button.click()
    assert got[-1].cloud.send_level == 2
    assert got[-1].cloud == dataclasses.replace(p.cloud_settings(), send_level=2)  # nothing else moved


def test_figures_are_those_of_the_router_in_use(page, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from support.minilm_gguf import gguf_path

    from assistant.chat import router_semantic

    dlg, p = page
    # no embedding model in use: the structural router's figures, and a word saying so
    assert not router_semantic.active()
    p.send_slider.setValue(1)
    alone = router_tradeoff.tradeoff(1, semantic=False)
    text = p.send_level_label.text()
    assert text == router_tradeoff.describe(1, semantic=False) and "not in use" in text
    assert alone.recall is not None and f"{alone.recall:.0%} of what needs it is sent" in text

    # the real embedding model loaded for routing: the figures with it
    path = gguf_path()
    embedder = router_semantic.InstructionEmbedder(lambda: path)
    try:
        assert embedder.meaning("warm up", wait_s=120) is not None
        monkeypatch.setattr(router_semantic, "_shared", embedder)
        assert router_semantic.active()
        p.send_slider.setValue(2)
        p.send_slider.setValue(1)
        text = p.send_level_label.text()
        assert text == router_tradeoff.describe(1) != router_tradeoff.describe(1, semantic=False)
        assert "not in use" not in text and p.send_slider.accessibleDescription() == text
    finally:
        embedder.close()


def test_slider_is_off_without_a_provider(page) -> None:  # type: ignore[no-untyped-def]
    _, p = page
    p.load(Settings())
    assert p.send_slider.value() == 0 and not p.send_slider.isEnabled()
    assert p.send_level_label.text().startswith("Balanced")



def test_its_mnemonic_is_its_own_and_lands_on_the_slider(page, qtbot) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QAbstractButton, QLabel

    dlg, p = page
    dlg.show()
    qtbot.waitExposed(dlg)
    label = next(lb for lb in p.findChildren(QLabel) if lb.text() == "Se&nd to the cloud:")
    texts = [lb.text() for lb in p.findChildren(QLabel)] + [b.text() for b in p.findChildren(QAbstractButton)]
    keys = [t[t.index("&") + 1].lower() for t in texts if "&" in t]
    assert keys.count("n") == 1  # no other Alt+N on the page
    assert label.buddy().focusProxy() is p.send_slider  # Alt+N focuses the buddy: the slider
    assert p.send_slider.focusPolicy() & Qt.FocusPolicy.TabFocus

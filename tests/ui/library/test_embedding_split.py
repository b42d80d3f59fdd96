"""Embedding models are never offered as chat models: not by the first-run wizard, not in the
library's catalog tab."""

from __future__ import annotations

from assistant import network
from assistant.library.catalog import embedding_models
from assistant.paths import get_paths
from assistant.settings import Settings
from assistant.ui.library.window import LibraryWindow
from assistant.ui.library.wizard import FirstRunWizard

WAIT = 20_000


def _no_downloads():  # type: ignore[no-untyped-def]
    raise AssertionError("no download expected")


def test_neither_the_wizard_nor_the_catalog_tab_offers_an_embedding_model(qtbot) -> None:  # type: ignore[no-untyped-def]
    network.set_offline(True)  # nothing here needs the network
    embedding_ids = {e.id for e in embedding_models()}
    assert embedding_ids
    paths = get_paths().ensure()
    lib = LibraryWindow(paths, Settings(), _no_downloads)
    qtbot.addWidget(lib)
    lib.show()
    qtbot.waitUntil(lambda: not lib.busy, timeout=WAIT)
    rows = lib.recommended_tab.catalog.rows()
    assert rows and all(r.entry.kind == "chat" for r in rows)
    assert not embedding_ids & {r.entry.id for r in rows}

    wizard = FirstRunWizard(paths, Settings(), _no_downloads)
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitUntil(lambda: wizard.hw is not None, timeout=WAIT)
    assert wizard.choice is None or (wizard.choice[0].kind == "chat" and wizard.choice[0].id not in embedding_ids)

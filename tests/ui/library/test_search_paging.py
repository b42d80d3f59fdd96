"""The Search tab pages past the first page of results (More results), and shows a mirror's
empty answer in plain words."""

from __future__ import annotations

import pytest

from assistant import network
from assistant.paths import get_paths
from assistant.settings import Settings
from assistant.ui.library.tabs.search import PAGE_SIZE
from assistant.ui.library.window import LibraryWindow
from tests.support.hub_server import LocalHub

WAIT = 20_000


@pytest.fixture
def hub():  # type: ignore[no-untyped-def]
    network.set_offline(False)
    with LocalHub() as h:
        for i in range(PAGE_SIZE + 12):
            h.add_repo(f"many/tiny-{i:02d}-GGUF", {"tiny-Q4_K_M.gguf": b"GGUF" + bytes(4096)}, tags=["gguf"],
                       downloads=1000 - i)
        h.page_size = PAGE_SIZE
        yield h


def _window(qtbot, hub: LocalHub) -> LibraryWindow:  # type: ignore[no-untyped-def]
    w = LibraryWindow(get_paths().ensure(), Settings(), lambda: None, endpoint=hub.url)
    qtbot.addWidget(w)
    w.resize(800, 600)
    w.show()
    w.tabs.setCurrentIndex(1)
    return w


def test_more_results_fetches_the_next_page(qtbot, hub: LocalHub) -> None:  # type: ignore[no-untyped-def]
    w = _window(qtbot, hub)
    s = w.search_tab
    s.search_box.setText("tiny")
    s.search()
    qtbot.waitUntil(lambda: s.hub_results.rowCount() == PAGE_SIZE and not w.busy, timeout=WAIT)
    assert s.more_button.isVisible() and "More are on the next page" in s.search_status.text()
    s.more_button.click()
    qtbot.waitUntil(lambda: s.hub_results.rowCount() == PAGE_SIZE + 12 and not w.busy, timeout=WAIT)
    assert not s.more_button.isVisible() and s.search_status.text() == f"{PAGE_SIZE + 12} repositories found."
    names = [s.hub_results.index(r, 0).data() for r in range(s.hub_results.rowCount())]
    assert len(set(names)) == len(names) and names[-1] == f"many/tiny-{PAGE_SIZE + 11:02d}-GGUF"
    cursors = [r.query.get("cursor") for r in hub.requests if r.path == "/api/models"]
    assert cursors == [None, [str(PAGE_SIZE)]]  # the second page is the Hub's Link, followed
    s.search()  # a new search starts from the first page again
    qtbot.waitUntil(lambda: s.hub_results.rowCount() == PAGE_SIZE and not w.busy, timeout=WAIT)


def test_an_empty_answer_from_a_mirror_is_said_plainly(qtbot, hub: LocalHub) -> None:  # type: ignore[no-untyped-def]
    hub.empty_search = True
    w = _window(qtbot, hub)
    s = w.search_tab
    s.search_box.setText("tiny")
    s.search()
    qtbot.waitUntil(lambda: "could not be read" in s.search_status.text(), timeout=WAIT)
    assert "Expecting value" not in s.search_status.text() and s.hub_results.rowCount() == 0

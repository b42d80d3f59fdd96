"""Settings → Hugging Face: the Hub address is a setting; the token goes to the real keyring only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import keys
from assistant.library.hub_access import HF_TOKEN_PROVIDER, stored_token
from assistant.paths import get_paths
from assistant.settings import Settings, load_settings, save_settings
from assistant.ui.settings.dialog import SettingsDialog

TOKEN = "hf_PageTestTokenNeverInSettings987654321"


@pytest.fixture
def dialog(qtbot, home: Path, secret_service: None):  # type: ignore[no-untyped-def]
    keys.delete_key(HF_TOKEN_PROVIDER)
    d = SettingsDialog(Settings(), get_paths().ensure())
    qtbot.addWidget(d)
    d.show()
    d.tabs.setCurrentIndex(1)  # Hugging Face: the keyring is read when the tab is first shown
    yield d
    keys.delete_key(HF_TOKEN_PROVIDER)


def test_the_hub_address_is_a_setting(qtbot, dialog: SettingsDialog) -> None:  # type: ignore[no-untyped-def]
    page = dialog.hub_page
    seen: list[Settings] = []
    dialog.settings_changed.connect(seen.append)
    page.endpoint_edit.setText("ftp://nope")
    assert "⚠" in page.endpoint_note.text() and dialog.current_settings().hub_endpoint == ""
    page.endpoint_edit.setText("hf-mirror.example.org/")
    assert dialog.apply_button.isEnabled()
    dialog.apply_button.click()
    assert seen and seen[-1].hub_endpoint == "https://hf-mirror.example.org"


def test_the_token_is_kept_in_the_keyring_never_in_the_settings(qtbot, dialog: SettingsDialog, home: Path) -> None:  # type: ignore[no-untyped-def]
    page = dialog.hub_page
    other = SettingsDialog(Settings(), get_paths())  # opened on General: no keyring call at all
    qtbot.addWidget(other)
    other.show()
    assert not other.hub_page._looked and other.hub_page._jobs == []
    qtbot.waitUntil(lambda: page.token_status.text() == "No token saved.", timeout=10_000)
    page.token_edit.setText(TOKEN)
    page.save_token_button.click()
    assert page.token_edit.text() == ""  # never left in the field
    qtbot.waitUntil(lambda: page.token_status.text().startswith("✓"), timeout=10_000)
    assert TOKEN not in page.token_status.text() and keys.mask(TOKEN) in page.token_status.text()
    assert stored_token() == TOKEN
    path = get_paths().settings_file
    save_settings(dialog.current_settings(), path)
    assert TOKEN not in path.read_text(encoding="utf-8") and "hub_endpoint" in json.loads(path.read_text())
    assert load_settings(path).settings.hub_endpoint == ""
    page.delete_token_button.click()
    qtbot.waitUntil(lambda: page.token_status.text() == "No token saved.", timeout=10_000)
    assert stored_token() is None

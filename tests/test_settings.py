from __future__ import annotations

import json
from pathlib import Path

from assistant.paths import get_paths
from assistant.settings import SCHEMA_VERSION, Settings, load_settings, save_settings


def test_defaults_when_missing(tmp_path: Path) -> None:
    r = load_settings(tmp_path / "settings.json")
    assert r.settings == Settings() and r.warning == ""


def test_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "settings.json"
    s = Settings(default_model="gemma", context_length=8192, offline_mode=True)
    s.generation.temperature = 0.2
    save_settings(s, p)
    assert json.loads(p.read_text())["schema_version"] == SCHEMA_VERSION
    assert load_settings(p).settings == s


def test_corrupt_file_is_kept_aside_and_defaults_used(tmp_path: Path) -> None:
    p = tmp_path / "settings.json"
    p.write_text('{"context_length": 8192, oops')
    r = load_settings(p)
    assert r.settings == Settings()
    assert "settings.json.bak" in r.warning
    assert (tmp_path / "settings.json.bak").read_text() == '{"context_length": 8192, oops'
    assert not p.exists()


def test_wrong_types_and_unknown_keys_are_ignored(tmp_path: Path) -> None:
    p = tmp_path / "settings.json"
    p.write_text(json.dumps({"context_length": "big", "offline_mode": True, "mystery": 1, "generation": {"top_k": 7}}))
    s = load_settings(p).settings
    assert s.context_length == Settings().context_length
    assert s.offline_mode is True and s.generation.top_k == 7


def test_newer_schema_is_not_silently_misread(tmp_path: Path) -> None:
    p = tmp_path / "settings.json"
    p.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1}))
    r = load_settings(p)
    assert "newer version" in r.warning and (tmp_path / "settings.json.bak").exists()


def test_paths_follow_assistant_home(home: Path) -> None:
    p = get_paths().ensure()
    assert p.settings_file.is_relative_to(home) and p.history_db.is_relative_to(home)
    assert p.models_dir.is_dir()


def test_the_hub_address_joins_without_a_new_schema(tmp_path: Path) -> None:
    """A file written before hub_endpoint existed loads with the default (huggingface.co)."""
    p = tmp_path / "settings.json"
    p.write_text(json.dumps({"schema_version": 1, "theme": "dark"}), encoding="utf-8")
    s = load_settings(p).settings
    assert s.hub_endpoint == "" and s.theme == "dark" and s.schema_version == SCHEMA_VERSION
    s.hub_endpoint = "https://hf-mirror.example.org"
    save_settings(s, p)
    assert load_settings(p).settings.hub_endpoint == "https://hf-mirror.example.org"
    assert "hf_" not in p.read_text(encoding="utf-8")  # no token field, no token

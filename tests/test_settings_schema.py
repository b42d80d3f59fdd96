"""settings.json against one schema (issue 33): each wrong value is dropped with a warning
that names its key, the rest is kept, and the file as it was is kept as .bak."""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path

import pytest

from assistant import model_settings
from assistant.core.types import GenParams
from assistant.settings import ModelOverrides, Settings, load_settings, save_settings
from assistant.settings_schema import check


def _load(tmp_path: Path, data: object) -> tuple[Settings, str]:
    p = tmp_path / "settings.json"
    p.write_text(json.dumps(data), encoding="utf-8")
    r = load_settings(p)
    return r.settings, r.warning


def test_the_three_files_of_the_issue_load_with_the_rest_kept(tmp_path: Path) -> None:
    original = {
        "theme": "dark",
        "model_settings": {"/m/fast.gguf": "fast", "/m/ok.gguf": {"temperature": 0.2, "top_k": "many"}},
        "generation": {"stop": [1, None, "END"], "temperature": 0.3},
        "extra_models": [1, "/m/extra.gguf"],
    }
    s, warning = _load(tmp_path, original)
    assert s.theme == "dark" and s.generation.temperature == 0.3
    assert s.model_settings == {"/m/ok.gguf": {"temperature": 0.2}}
    assert s.generation.stop == ["END"]
    assert s.extra_models == ["/m/extra.gguf"]
    for key in ('model_settings["/m/fast.gguf"]', 'model_settings["/m/ok.gguf"].top_k', "generation.stop[0]",
                "generation.stop[1]", "extra_models[0]"):
        assert key in warning, (key, warning)
    assert "settings.json.bak" in warning
    assert json.loads((tmp_path / "settings.json.bak").read_text(encoding="utf-8")) == original
    assert json.loads((tmp_path / "settings.json").read_text(encoding="utf-8")) == original  # untouched until saved
    # what the engine and the server get from them works
    assert model_settings.get(s, "/m/fast.gguf") == model_settings.ModelSettings()
    assert model_settings.gen_params(s, "/m/ok.gguf").stop == ["END"]


@pytest.mark.parametrize("data, key, kept", [
    ({"context_length": "big"}, "context_length: expected a whole number, found \"big\"", "context_length"),
    ({"context_length": 0}, "context_length: 0 is out of range (expected at least 1)", "context_length"),
    ({"font_size": 500}, "font_size: 500 is out of range (expected from 6 to 72)", "font_size"),
    ({"font_size": 5}, "font_size: 5 is out of range", "font_size"),
    ({"theme": "pink"}, "theme: \"pink\" is not one of \"system\", \"light\", \"dark\"", "theme"),
    ({"offline_mode": "yes"}, "offline_mode: expected true or false", "offline_mode"),
    ({"n_gpu_layers": -2}, "n_gpu_layers: -2 is out of range", "n_gpu_layers"),
    ({"n_threads": 1.5}, "n_threads: expected a whole number, found 1.5", "n_threads"),
    ({"server": {"port": 70000}}, "server.port: 70000 is out of range (expected from 1 to 65535)", "server"),
    ({"server": {"port": 0}}, "server.port: 0 is out of range", "server"),
    ({"server": "on"}, "server: expected an object, found \"on\"", "server"),
    ({"cloud": {"routing_mode": "always"}}, "cloud.routing_mode: \"always\" is not one of", "cloud"),
    ({"cloud": {"provider": "acme"}}, "cloud.provider: \"acme\" is not one of", "cloud"),
    ({"cloud": {"monthly_limit_usd": -1}}, "cloud.monthly_limit_usd: -1 is out of range (expected at least 0)", "cloud"),
    ({"cloud": {"base_urls": {"openai": 5}}}, "cloud.base_urls[\"openai\"]: expected text, found 5", "cloud"),
    ({"generation": {"seed": "x"}}, "generation.seed: expected a whole number, found \"x\"", "generation"),
    ({"generation": {"temperature": "NaN"}}, "generation.temperature: expected a number", "generation"),
    ({"generation": {"stop": "END"}}, "generation.stop: expected a list of texts, found \"END\"", "generation"),
    ({"generation": {"max_tokens": True}}, "generation.max_tokens: expected a whole number, found true", "generation"),
    ({"private_servers": [1]}, "private_servers[0]: expected an object, found 1", "private_servers"),
    ({"private_servers": [{"name": 2, "base_url": "http://h:1"}]}, "private_servers[0].name: expected text", None),
    ({"model_settings": []}, "model_settings: expected an object, found []", "model_settings"),
    ({"extra_models": "one"}, "extra_models: expected a list of texts", "extra_models"),
])
def test_each_wrong_value_is_named_and_reset(tmp_path: Path, data: dict, key: str, kept: str | None) -> None:
    s, warning = _load(tmp_path, data)
    assert key in warning, warning
    assert warning.startswith("Some settings were not valid and are back to their defaults: ")
    if kept is None:  # the rest of the entry stays
        assert s.private_servers == [{"base_url": "http://h:1"}]
        return
    if kept in ("server", "cloud", "generation"):
        default = getattr(Settings(), kept)
        inner = key.split(":")[0].split(".")[1].split("[")[0] if "." in key.split(":")[0] else None
        if inner is not None:
            assert getattr(getattr(s, kept), inner) == getattr(default, inner)
        else:
            assert getattr(s, kept) == default
    else:
        assert getattr(s, kept) == getattr(Settings(), kept)


def test_a_non_finite_number_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "settings.json"
    p.write_text('{"generation": {"temperature": NaN, "top_p": Infinity}, "cloud": {"monthly_limit_usd": -Infinity}}')
    r = load_settings(p)
    assert "generation.temperature: NaN is not a finite number" in r.warning
    assert "generation.top_p: Infinity is not a finite number" in r.warning
    assert "cloud.monthly_limit_usd: -Infinity is not a finite number" in r.warning
    assert r.settings.generation == GenParams()


def test_good_values_of_every_kind_pass_untouched(tmp_path: Path) -> None:
    s = Settings(context_length=8192, theme="light", font_size=14, n_gpu_layers=0, extra_models=["/a.gguf"],
                 private_servers=[{"name": "box", "base_url": "http://h:8000/v1", "has_key": True}],
                 model_settings={"/a.gguf": {"temperature": 0.1, "engine": "llama.cpp", "seed": 3}})  # type: ignore[typeddict-unknown-key]
    s.generation = GenParams(seed=7, stop=["a", "b"], thinking="off", temperature=1)
    s.cloud.base_urls = {"openai": "http://gw/v1"}
    s.server.port = 1
    p = tmp_path / "settings.json"
    save_settings(s, p)
    r = load_settings(p)
    assert r.warning == "" and not (tmp_path / "settings.json.bak").exists()
    expected = dataclasses.replace(s, model_settings={"/a.gguf": {"temperature": 0.1, "engine": "llama.cpp"}})
    assert r.settings == expected  # an unknown key inside an entry is left out quietly
    assert isinstance(r.settings.generation.temperature, float)


def test_many_problems_are_summed_up_and_all_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    _, warning = _load(tmp_path, {"extra_models": list(range(9))})
    assert "extra_models[5]" in warning and "extra_models[6]" not in warning and "and 3 more (see the log)" in warning
    assert sum("settings: dropped extra_models[" in r.getMessage() for r in caplog.records) == 9


def test_a_file_that_is_not_an_object_or_has_a_bad_version_is_set_aside(tmp_path: Path) -> None:
    for text in ("[1, 2]", '{"schema_version": "2"}', '{"schema_version": true}', "3"):
        p = tmp_path / "settings.json"
        p.write_text(text)
        r = load_settings(p)
        assert r.settings == Settings() and "could not be read" in r.warning
        assert (tmp_path / "settings.json.bak").read_text() == text and not p.exists()


def test_deep_nesting_is_refused_not_a_crash(tmp_path: Path) -> None:
    p = tmp_path / "settings.json"
    p.write_text('{"model_settings": ' + "[" * 100_000 + "]" * 100_000 + "}")
    r = load_settings(p)
    assert r.settings == Settings() and "could not be read" in r.warning


def test_the_model_entry_schema_is_the_model_settings_dataclass() -> None:
    """ModelOverrides (settings.py) and ModelSettings (model_settings.py) must not drift."""
    hints = typing.get_type_hints(ModelOverrides)
    fields = typing.get_type_hints(model_settings.ModelSettings)
    assert hints == fields


def test_check_names_keys_from_a_prefix() -> None:
    clean, problems = check(GenParams, {"top_k": "x", "stop": ["a", 2]}, "model_settings[\"m\"]")
    assert clean == {"stop": ["a"]}
    assert problems == ['model_settings["m"].top_k: expected a whole number, found "x"',
                        'model_settings["m"].stop[1]: expected text, found 2']

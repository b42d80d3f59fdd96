"""issue 33: the importer and `doctor` refuse what loading refuses, with the same message,
so a file that can never load is refused when it is added. The files are the real test
model with one header value changed (the tensor data a sparse hole)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.gguf_edit import text, u32, with_metadata

from assistant import doctor
from assistant.core.types import LoadOptions, ModelRef
from assistant.engines.host import EngineProxy
from assistant.errors import AssistantError, ChatTemplateError, ModelFormatError, UnsupportedArchitectureError
from assistant.library.importer import import_model
from assistant.library.installed import model_ref_for_path, resolve_model
from assistant.paths import get_paths
from assistant.settings import Settings

A = "gemma3"
CASES = {
    "arch_evil": ({"general.architecture": text("evil")}, UnsupportedArchitectureError, "uses the 'evil' architecture"),
    "arch_missing": ({"general.architecture": None}, ModelFormatError, "does not say which model architecture it is"),
    "arch_int": ({"general.architecture": u32(7)}, ModelFormatError, "(its general.architecture is 7, not a name)"),
    "bad_utf8_arch": ({"general.architecture": text(b"gem\xffma3")}, ModelFormatError, "is not valid UTF-8 text"),
    "head_count_0": ({f"{A}.attention.head_count": u32(0)}, ModelFormatError, "gemma3.attention.head_count is 0"),
    "n_embd_0": ({f"{A}.embedding_length": u32(0)}, ModelFormatError, "gemma3.embedding_length is 0"),
    "key_length_0": ({f"{A}.attention.key_length": u32(0)}, ModelFormatError, "gemma3.attention.key_length is 0"),
    "template_syntax": ({"tokenizer.chat_template": text("{% for m in messages %}{{ m.content }")}, ChatTemplateError,
                        "The model's chat template is not valid Jinja (unexpected '}')."),
}


@pytest.fixture(scope="module")
def bad_files(gemma_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("never-load")
    return {name: with_metadata(gemma_path, d / f"{name}.gguf", values, data=False) for name, (values, _, _) in CASES.items()}


def _import_error(path: Path, models: Path) -> AssistantError:
    with pytest.raises(AssistantError) as info:
        import_model(path, models)
    return info.value


@pytest.mark.parametrize("case", list(CASES))
def test_import_and_doctor_refuse_with_one_message(bad_files: dict[str, Path], case: str, tmp_path: Path, home: Path) -> None:
    _, kind, says = CASES[case]
    models = tmp_path / "models"
    err = _import_error(bad_files[case], models)
    assert type(err) is kind and says in err.message
    assert not models.exists() or not any(models.rglob("*.gguf"))  # nothing was added
    report = doctor.collect(get_paths().ensure(), Settings(), model=str(bad_files[case]))
    assert report["plan"] == {"error": str(err)}


@pytest.mark.parametrize("case", ["arch_evil", "n_embd_0", "template_syntax"])
def test_loading_says_the_same(bad_files: dict[str, Path], case: str, tmp_path: Path) -> None:
    expected = _import_error(bad_files[case], tmp_path / "models")
    proxy = EngineProxy("llama.cpp", use_safe_mode_store=False)
    with pytest.raises(AssistantError) as info:
        proxy.load(ModelRef(bad_files[case], "gguf"), LoadOptions(n_ctx=512, n_threads=2))
    assert type(info.value) is type(expected) and str(info.value) == str(expected)
    proxy.unload()


def test_a_template_override_lets_doctor_plan_it(bad_files: dict[str, Path], home: Path) -> None:
    from assistant import model_settings

    s = Settings()
    model_settings.put(s, bad_files["template_syntax"], model_settings.ModelSettings(chat_template="{{ messages }}"))
    report = doctor.collect(get_paths().ensure(), s, model=str(bad_files["template_syntax"]))
    assert "error" not in report["plan"] and report["plan"]["engine"] == "llama.cpp"


def test_a_folder_named_like_a_gguf_file_is_no_mlx_model(tmp_path: Path) -> None:
    """issue 33: it was described as an MLX folder missing config.json."""
    folder = tmp_path / "x.gguf"
    folder.mkdir()
    ref = model_ref_for_path(folder)
    assert ref.format == "gguf"
    errors = []
    for attempt in (lambda: import_model(folder, tmp_path / "models"), lambda: doctor_error(folder)):
        with pytest.raises(ModelFormatError) as info:
            attempt()
        errors.append(info.value)
    for err in errors:
        assert err.message == f"{folder} is a folder, not a GGUF file." and "MLX" not in str(err), str(err)


def doctor_error(path: Path) -> None:
    from assistant.core.gguf_meta import read_gguf

    read_gguf(resolve_model(str(path), path.parent).path)

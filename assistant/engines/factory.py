"""Pick and prepare the engine for a model on this machine (hardware.plan decides)."""

from __future__ import annotations

from assistant import hardware
from assistant.core.gguf_meta import read_gguf
from assistant.core.types import LoadOptions, ModelRef
from assistant.engines.base import Engine
from assistant.settings import Settings


def make_engine(name: str) -> Engine:
    if name == "mlx":
        from assistant.engines.mlx import MlxEngine

        return MlxEngine()
    from assistant.engines.llamacpp import LlamaCppEngine

    return LlamaCppEngine()


def plan_for(model: ModelRef, settings: Settings, hw: hardware.HardwareInfo | None = None) -> hardware.RunPlan:
    hw = hw or hardware.detect()
    if model.format == "mlx":
        from assistant.engines.mlx import check_folder  # plain file checks; mlx itself is not imported

        check_folder(model.path)  # a half-downloaded folder is named before "needs Apple Silicon"
        n_layers = None
    else:
        n_layers = read_gguf(model.path).block_count
    return hardware.plan(
        model,
        hw,
        n_ctx=settings.context_length,
        n_gpu_layers_setting=settings.n_gpu_layers,
        n_layers=n_layers,
    )


def prepare(model: ModelRef, settings: Settings) -> tuple[Engine, LoadOptions, hardware.RunPlan]:
    """The engine to use, its load options and the plan with its plain-language reason.
    The model's own settings (model_settings.py) override the app-wide ones."""
    from assistant import model_settings

    settings = model_settings.load_settings_for(settings, model.path)
    own = model_settings.get(settings, model.path)
    plan = plan_for(model, settings)
    options = LoadOptions(
        n_ctx=settings.context_length,
        n_gpu_layers=plan.n_gpu_layers,
        n_threads=settings.n_threads or plan.n_threads,
        chat_template=own.chat_template,
    )
    engine = plan.engine
    if own.engine and own.engine in model_settings.engine_choices(model.format, hardware.detect()):
        engine = own.engine
    return make_engine(engine), options, plan

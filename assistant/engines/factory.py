"""Pick and prepare the engine for a model on this machine (hardware.plan decides)."""

from __future__ import annotations

import os

from assistant import hardware
from assistant.core.gguf_meta import read_gguf
from assistant.core.types import LoadOptions, ModelRef
from assistant.core.vision import projector_for
from assistant.engines.base import Engine
from assistant.engines.private import engine_for
from assistant.settings import Settings

# "1": local engines run in this process (tests and benchmarks that need the engine itself)
IN_PROCESS_ENV = "ASSISTANT_ENGINE_IN_PROCESS"


def make_engine(name: str, *, in_process: bool = False) -> Engine:
    """A local engine ("llama.cpp" or "mlx"): a proxy to a child process of its own
    (engines/host.py), so a crash in native code cannot take the app down; with
    `in_process` (or ASSISTANT_ENGINE_IN_PROCESS=1) the engine itself."""
    from assistant.engines.host import EngineProxy
    from assistant.engines.host_child import make_in_process

    if in_process or os.environ.get(IN_PROCESS_ENV) == "1":
        return make_in_process(name)
    return EngineProxy("mlx" if name == "mlx" else "llama.cpp")


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
    The model's own settings (library/model_settings.py) override the app-wide ones."""
    from assistant import model_settings

    if model.format == "remote":  # a model on one of the user's own servers
        remote = engine_for(model, settings)
        plan = hardware.RunPlan(remote.name, remote.backend, 0, 0, f"Answered by your server {remote.server.name} "
                                f"at {remote.base_url}.", True, 0)
        return remote, LoadOptions(), plan
    settings = model_settings.load_settings_for(settings, model.path)
    own = model_settings.get(settings, model.path)
    plan = plan_for(model, settings)
    options = LoadOptions(
        n_ctx=settings.context_length,
        n_gpu_layers=plan.n_gpu_layers,
        n_threads=settings.n_threads or plan.n_threads,
        chat_template=own.chat_template,
        # the chat and the API server share the engine: its slots are the server's setting
        # while the server is on; one otherwise (the single-stream context, as before)
        parallel=max(1, int(settings.server.parallel)) if settings.server.enabled else 1,
    )
    # the power-user options: only those the model's settings set; LoadOptions has the defaults
    for key in model_settings.SPEED_KEYS:
        if getattr(own, key) is not None:
            setattr(options, key, getattr(own, key))
    if model.format == "gguf":  # a projector beside the weights: the model sees (core/vision.py decides)
        projector = projector_for(model)
        options.mmproj = str(projector) if projector is not None else None
    engine = plan.engine
    if own.engine and own.engine in model_settings.engine_choices(model.format, hardware.detect()):
        engine = own.engine
    return make_engine(engine), options, plan

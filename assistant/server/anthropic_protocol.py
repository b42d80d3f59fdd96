"""The request bodies of the Anthropic Messages API, as typed models; each field
honoured, knowingly ignored or refused (server/protocol.py says what that means)."""

from __future__ import annotations

from typing import Any

from assistant.server.protocol import ApiModel, Float, Int, Stop, honoured, ignored, refused


class _Common(ApiModel):
    model: str = honoured("")
    messages: list[dict[str, Any]] = honoured(..., min_length=1)
    system: str | list[dict[str, Any]] | None = honoured(None)
    thinking: dict[str, Any] | None = honoured(None)  # enabled / disabled: the model's thinking switch
    # tool use (server/tool_calls.py): your own tools; server tools are refused there
    tools: list[Any] | None = honoured(None)
    tool_choice: dict[str, Any] | None = honoured(None)
    cache_control: dict[str, Any] | None = ignored(None, "prefixes are cached per slot anyway")
    # {"format": {"type": "json_schema", "schema": ...}}: a grammar holds the answer (server/structured.py)
    output_config: dict[str, Any] | None = honoured(None)
    speed: str | None = ignored(None, "one speed: this computer's")
    user_profile_id: str | None = ignored(None, "no per-user tracking here")
    workspace_id: str | None = ignored(None, "no workspaces here")

    @property
    def thinking_switch(self) -> str | None:
        kind = (self.thinking or {}).get("type")
        return {"enabled": "on", "adaptive": "on", "disabled": "off"}.get(str(kind)) if kind else None


class MessagesRequest(_Common):
    max_tokens: Int = honoured(..., ge=1)
    stop_sequences: Stop = honoured(None)  # a lone string too, as the OpenAI API's stop
    stream: bool = honoured(False)
    temperature: Float | None = honoured(None, ge=0, le=1)
    top_p: Float | None = honoured(None, gt=0, le=1)
    top_k: Int | None = honoured(None, ge=0)
    # llama.cpp's own, as for the OpenAI API
    min_p: Float | None = honoured(None, ge=0, le=1)
    repeat_penalty: Float | None = honoured(None, gt=0)
    seed: Int | None = honoured(None)
    metadata: dict[str, Any] | None = ignored(None, "user_id asks for abuse tracking, which a private server does not do")
    service_tier: str | None = ignored(None, "one tier: this computer")
    inference_geo: str | None = ignored(None, "the answer is made on this computer")
    diagnostics: dict[str, Any] | None = ignored(None, "nothing is reported anywhere")
    container: Any = refused(None, "There is no code container here: leave container out.")
    mcp_servers: list[Any] | None = refused(None, "MCP servers are not built into this API yet: leave mcp_servers out.")
    context_management: dict[str, Any] | None = refused(None, "Context editing is not supported: leave context_management out.")


class CountTokensRequest(_Common):
    pass

"""Typed errors. Each carries a plain-language message and a hint saying what to do.

Boundaries (CLI, GUI workers, start-up, storage) catch `AssistantError` and show
`str(err)`; nothing below them swallows errors.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the user may see."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n{self.hint}" if self.hint else self.message


class SettingsError(AssistantError):
    pass


class StorageError(AssistantError):
    pass


class ModelError(AssistantError):
    """Anything wrong with a model file or folder."""


class ModelNotFoundError(ModelError):
    pass


class ModelFormatError(ModelError):
    """Not a GGUF / not an MLX folder / truncated / corrupt."""


class UnsupportedArchitectureError(ModelError):
    def __init__(self, message: str, hint: str = "", architecture: str = "") -> None:
        super().__init__(message, hint)
        self.architecture = architecture


class ModelTooLargeError(ModelError):
    pass


class CatalogError(AssistantError):
    """The curated model catalog (resources/catalog.json) is missing or malformed."""


class EngineUnavailableError(AssistantError):
    """The engine's library is missing or cannot run on this machine."""


class EngineError(AssistantError):
    """The engine failed while loading or generating."""


class EngineCrashedError(EngineError):
    """The engine's child process died (a signal, an abort, an exit) while loading or answering.
    The app and the conversation are unaffected; `phase` is "load" or "answer"."""

    def __init__(self, message: str, hint: str = "", phase: str = "", exitcode: int | None = None) -> None:
        super().__init__(message, hint)
        self.phase = phase
        self.exitcode = exitcode


class LoadCancelledError(EngineError):
    """A model load was cancelled (its process was ended)."""


class GrammarError(EngineError):
    """A constraint on the answer (a GBNF grammar: JSON output) that the engine cannot use:
    it does not parse, or this engine cannot hold an answer to a grammar."""


class ChatTemplateError(AssistantError):
    pass


class PromptTooLongError(AssistantError):
    def __init__(self, message: str, hint: str = "", limit: int = 0, needed: int = 0) -> None:
        super().__init__(message, hint)
        self.limit = limit
        self.needed = needed


class KeyringError(AssistantError):
    pass


class NetworkBlockedError(AssistantError):
    """A connection was attempted while offline mode is on."""


class HubError(AssistantError):
    """Hugging Face Hub search, listing or metadata failed."""


class RepoNotFoundError(HubError):
    pass


class DownloadError(AssistantError):
    """A model download failed (network, server, a file gone from the Hub, a bad name)."""


class DiskFullError(DownloadError):
    def __init__(self, message: str, hint: str = "", needed: int = 0, free: int = 0) -> None:
        super().__init__(message, hint)
        self.needed = needed
        self.free = free


class HashMismatchError(DownloadError):
    pass


class CloudLimitError(AssistantError):
    """The monthly cloud spending limit is reached: no more cloud calls this month."""


class CloudNotAllowedError(AssistantError):
    """This conversation or the settings forbid sending to the cloud."""


class ToolError(AssistantError):
    """A tool call that could not be made or did not finish (MCP servers, built-in tools)."""


class ToolTimeoutError(ToolError):
    """A tool call ran past its time limit; `tool` and `server` name it."""

    def __init__(self, message: str, hint: str = "", tool: str = "", server: str = "") -> None:
        super().__init__(message, hint)
        self.tool = tool
        self.server = server


class ToolCancelledError(ToolError):
    """The user stopped a running tool call."""


class McpServerError(ToolError):
    """An MCP server that does not start, crashed, or answered with a protocol error.
    `stderr` holds the last lines the server wrote there (its own words), if any."""

    def __init__(self, message: str, hint: str = "", server: str = "", stderr: str = "") -> None:
        super().__init__(message, hint)
        self.server = server
        self.stderr = stderr


class McpConfigError(ToolError):
    """An mcp.json (ours or another app's) that cannot be read: the message says where."""


class ImageError(AssistantError):
    """An image the model cannot be shown: a format it cannot read, a damaged or truncated
    file, one too large to decode within the memory bound, or a model that cannot see."""

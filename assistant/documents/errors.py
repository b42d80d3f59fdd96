"""Errors about the user's documents, each with what happened and what to do."""

from __future__ import annotations

from assistant.errors import AssistantError


class DocumentError(AssistantError):
    """A file could not be read (encrypted, damaged, too large, not text...). It costs that
    file only: the others are indexed."""


class CollectionError(AssistantError):
    """A collection that does not exist, a name already taken, or nothing to add."""


class CollectionNotFoundError(CollectionError):
    """No collection has that name (the terminal's "not found" exit code)."""


class EmbeddingModelMissingError(AssistantError):
    """No embedding model is installed, or its file is gone."""


class IndexingCancelled(AssistantError):
    """Indexing was stopped; what was done is kept and the next run resumes."""

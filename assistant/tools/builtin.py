"""Tools built into the app. None reaches the network: "search my documents" searches the
chat's own document collections (documents/, on this computer)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from assistant.documents.service import Documents
from assistant.errors import AssistantError

SEARCH_DOCUMENTS = "search_documents"
MAX_PASSAGES = 8


class DocumentsTool:
    """The chosen collections as a tool: the model asks with its own words, gets the best
    passages with where each is from."""

    name = SEARCH_DOCUMENTS
    server = ""

    def __init__(self, open_documents: Callable[[], AbstractContextManager[Documents]], collections: list[str]) -> None:
        self._open = open_documents
        self.collections = list(collections)

    def spec(self) -> dict[str, Any]:
        listed = ", ".join(self.collections)
        return {"type": "function", "function": {
            "name": self.name,
            "description": f"Search the user's documents ({listed}) and return the passages that answer a question, "
                           "each with the file and page or lines it is from.",
            "parameters": {"type": "object", "properties": {
                "query": {"type": "string", "description": "What to look for, in a few words or a question."},
                "top_k": {"type": "integer", "description": f"How many passages (1 to {MAX_PASSAGES})."},
            }, "required": ["query"]},
        }}

    def call(self, arguments: dict[str, Any], cancel: threading.Event) -> str:
        query = arguments.get("query")
        if not isinstance(query, str) or not query.strip():
            raise AssistantError("search_documents needs a query.", "Say what to look for.")
        top_k = arguments.get("top_k", 5)
        top_k = max(1, min(MAX_PASSAGES, top_k if isinstance(top_k, int) else 5))
        with self._open() as docs:
            found = docs.search(query, self.collections, top_k=top_k)
        if not found.passages:
            return "No passage in the documents matches this query."
        parts = [f"[{i}] {p.where}\n{p.text.strip()}" for i, p in enumerate(found.passages, 1)]
        note = "The documents do not seem to contain a good answer; these are the closest passages.\n\n" if found.weak else ""
        return note + "\n\n".join(parts)

"""The app's own search_documents tool over a real index (the real embedding model, real
files): what the model reads, and how a chat's tools offer and approve it."""

from __future__ import annotations

import threading
from contextlib import nullcontext
from pathlib import Path

import pytest

from assistant.core.types import ToolCall
from assistant.documents.service import Documents
from assistant.errors import AssistantError
from assistant.tools.builtin import SEARCH_DOCUMENTS, DocumentsTool
from assistant.tools.loop import DONE, ToolSession
from assistant.tools.toolbox import ChatTools


@pytest.fixture
def docs(minilm_path: Path, docs_folder: Path):  # type: ignore[no-untyped-def]
    with Documents(n_threads=1) as d:
        d.set_embedding_model(minilm_path)
        d.add("home", [docs_folder])
        d.sync("home")
        yield d


def test_the_tool_finds_passages_with_where_they_are(docs: Documents) -> None:
    tool = DocumentsTool(lambda: nullcontext(docs), ["home"])
    spec = tool.spec()["function"]
    assert spec["name"] == SEARCH_DOCUMENTS and "(home)" in spec["description"] and spec["parameters"]["required"] == ["query"]
    text = tool.call({"query": "How often is the fog horn sounded in a gale?", "top_k": 2}, threading.Event())
    assert text.startswith("[1] manual.pdf, page 2\n") and "[3]" not in text
    assert tool.call({"query": "What is the capital of Peru?"}, threading.Event()).startswith(
        "The documents do not seem to contain a good answer")
    with pytest.raises(AssistantError, match="needs a query"):
        tool.call({"query": "  "}, threading.Event())
    many = tool.call({"query": "rent deposit oven pruning fog", "top_k": 99}, threading.Event())
    assert "[9]" not in many  # at most MAX_PASSAGES (8), whatever was asked


def test_a_chats_tools_offer_it_and_run_it_without_asking(docs: Documents) -> None:
    box = ChatTools(None, None, [DocumentsTool(lambda: nullcontext(docs), ["home"])])
    assert [s["function"]["name"] for s in box.specs()] == [SEARCH_DOCUMENTS]
    approve = box.approval(None, None)  # type: ignore[arg-type]  # the app's own tool needs no policy
    session = ToolSession(box, approve)
    [record] = session.execute([ToolCall(SEARCH_DOCUMENTS, '{"query": "When is the deposit returned?"}', "c1")],
                               threading.Event())
    assert record.status == DONE and record.server == "" and "lease.docx" in record.result
    [unknown] = session.execute([ToolCall("rm_rf", "{}", "c2")], threading.Event())
    assert unknown.status == "denied"  # a name that is no tool of this chat is never run

"""A tool result as the model reads it, from the SDK's own result types."""

from __future__ import annotations

import base64

from mcp_types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from assistant.tools.mcp_results import cut_text, result_from_mcp


def test_every_kind_of_part_in_order() -> None:
    result = CallToolResult(content=[
        TextContent(text="Found:"),
        AudioContent(data=base64.b64encode(b"\0" * 3000).decode(), mime_type="audio/wav"),
        EmbeddedResource(resource=TextResourceContents(uri="file:///notes.txt", text="buy milk")),
        EmbeddedResource(resource=BlobResourceContents(uri="file:///a.bin", blob=base64.b64encode(b"xy").decode(),
                                                      mime_type="application/octet-stream")),
        ResourceLink(uri="file:///big.csv", name="big.csv"),
    ])
    assert result_from_mcp(result).text == (
        "Found:\n[audio: audio/wav, 2.9 KB]\n[resource file:///notes.txt]\nbuy milk\n"
        "[resource file:///a.bin: application/octet-stream, 2 bytes]\n[link to the resource file:///big.csv (big.csv)]"
    )


def test_structured_content_alone_is_given_as_json() -> None:
    result = CallToolResult(content=[], structured_content={"temp": 21.5, "city": "Zürich"})
    out = result_from_mcp(result)
    assert out.text == '{"temp": 21.5, "city": "Zürich"}' and not out.is_error


def test_an_error_result_stays_an_error() -> None:
    assert result_from_mcp(CallToolResult(content=[TextContent(text="no such file")], is_error=True)).is_error


def test_the_cut_never_splits_a_character() -> None:
    out = cut_text("é" * 10, False, 5)  # 2 bytes each: 5 bytes hold two and a half
    assert out.text.startswith("éé\n(cut: the tool returned 20 bytes; the first 5 bytes is shown)")
    assert not cut_text("abc", False, 3).cut and cut_text("abcd", False, 3).cut  # the cap itself fits

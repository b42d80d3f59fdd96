"""A tool result as the model reads it, from the SDK's own result types."""

from __future__ import annotations

import base64

import pytest
from mcp_types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ResourceLink,
    TextContent,
    TextResourceContents,
)

from assistant.tools.mcp_results import cut_text, format_size, result_from_mcp


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


def test_the_default_cap_is_one_megabyte() -> None:
    at_cap = CallToolResult(content=[TextContent(text="x" * (1 << 20))])
    assert not result_from_mcp(at_cap).cut
    over = CallToolResult(content=[TextContent(text="x" * ((1 << 20) + 1))])
    assert result_from_mcp(over).text.endswith("(cut: the tool returned 1 MB; the first 1 MB is shown)")


def test_text_wins_over_structured_content_and_no_content_is_empty() -> None:
    both = CallToolResult(content=[TextContent(text="21.5 °C")], structured_content={"temp": 21.5})
    assert result_from_mcp(both).text == "21.5 °C"
    assert result_from_mcp(CallToolResult(content=[])).text == ""


def test_a_link_without_a_name() -> None:
    link = CallToolResult(content=[ResourceLink(uri="file:///a", name="")])
    assert result_from_mcp(link).text == "[link to the resource file:///a]"


@pytest.mark.parametrize("n, text", [(0, "0 bytes"), (1, "1 byte"), (1023, "1023 bytes"), (1024, "1 KB"),
                                     (1536, "1.5 KB"), (1 << 20, "1 MB"), (10 * 1024 * 1024, "10 MB"),
                                     (int(2.25 * (1 << 20)), "2.2 MB"), (1 << 30, "1 GB"), (3 << 30, "3 GB")])
def test_format_size(n: int, text: str) -> None:
    assert format_size(n) == text

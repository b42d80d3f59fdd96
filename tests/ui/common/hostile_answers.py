"""Answers a model might write that a naive Markdown view would mangle: raw HTML
(closed, unclosed, loading things, styling the page), and sizes that stall a layout.
Each is (name, text); the chat must show every word of each."""

from __future__ import annotations

import html
import re

HOSTILE_ANSWERS: list[tuple[str, str]] = [
    ("html question", 'In HTML, what does `<div class="x">` do? Is <script> safe? Also <b>bold</b> and 3 < 5.'),
    ("unclosed think", "<think>\nI wonder whether this shows at all.\n\nIt must: every word."),
    ("think in the middle", "First part of the answer.\n\n<think>a stray tag</think>\n\nSecond part, after the tag."),
    ("script echo", "\n".join([
        "Here is an example page:",
        "<html>",
        "<head><script>alert('hi')</script></head>",
        "<body onload=\"steal()\">",
        "<p>Hello paragraph</p>",
        "<iframe src=\"https://evil.example/frame\"></iframe>",
        "</body>",
        "</html>",
        "Line nine after the page.",
        "Line ten.",
        "Line eleven.",
        "Line twelve.",
        "Line thirteen.",
        "Line fourteen.",
        "Line fifteen, the last.",
    ])),
    ("image tag", 'Look: <img src="https://tracker.example/pixel.png" alt="pixel"> and <img src="file:///etc/passwd">.'),
    ("markdown image", "Local ![secret](file:///etc/passwd) and remote ![cat](https://x.example/cat.png) images."),
    ("file link", 'Open <a href="file:///etc/passwd">this file</a> or [that one](file:///home/me/.ssh/id_rsa).'),
    ("style", "<style>* { color: red; font-size: 80px; display: none }</style>\nStill readable text after a style block."),
    ("comment", "Before <!-- a hidden comment that must show --> after."),
    ("html block", "<div>\n<h1>Big heading inside a div</h1>\n<table><tr><td>cell</td></tr></table>\n</div>\n\nAfter the block."),
    ("unclosed comment", "Text <!-- never closed and more words follow here"),
    ("cdata and pi", "<![CDATA[ raw data ]]> and <?php echo 'x'; ?> and <!DOCTYPE html> end."),
    ("angle math", "If a<b and c>d then a<b<c, and x <= y >= z; also <<shift>>."),
    ("nested lists", "".join("  " * i + f"- level {i}\n" for i in range(60))),
    ("nested quotes", "".join(">" * i + f" quote {i}\n\n" for i in range(1, 40))),
    ("long word", "start " + "x" * 200_000 + " end"),
    ("long words", "start " + " ".join(["word"] * 40_000) + " end"),
]


def _source_words(text: str) -> list[str]:
    """The words a reader must find: link and image targets are not shown (the link is)."""
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.findall(r"\w+", html.unescape(text))


def missing_words(stored: str, visible: str) -> list[str]:
    """The words of `stored` not found, in order, in `visible` (empty: nothing lost)."""
    shown = re.findall(r"\w+", visible.replace("\u200b", ""))
    it = iter(shown)
    missing = []
    for w in _source_words(stored):
        for s in it:
            if s == w:
                break
        else:
            missing.append(w)
            it = iter(shown)  # report the rest as well, not one cascade
    return missing

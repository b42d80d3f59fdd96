"""MarkdownView: GitHub Markdown, highlighted code, copy links, no remote loads, height, streaming."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontInfo, QGuiApplication, QTextDocument, QTextTable
from PySide6.QtWidgets import QScrollArea, QVBoxLayout, QWidget

from assistant.ui.common.fences import copy_label, parse_fences, with_copy_links
from assistant.ui.common.highlighter import PygmentsHighlighter, is_code_block, lexer_for
from assistant.ui.common.markdown_view import MarkdownView, code_font_family

PY_CODE = 'def greet(name: str) -> str:\n    """Say hello."""\n    return f"Hello, {name}!"  # friendly'

SAMPLE = f"""# Title

Some **bold** text and a [link](https://example.com).

- one
- two

| Name | Value |
|------|------:|
| a    | 1     |
| b    | 2     |

```python
{PY_CODE}
```

After the code.
"""


def _long_message() -> str:
    """About 3 KB: prose, a list, a python block, a table, a task list, a quote."""
    code = "\n".join(
        [
            "import csv",
            "from statistics import mean, median",
            "",
            "",
            "def load(path: str) -> list[dict[str, str]]:",
            '    """Read every row of a CSV file into a list of dicts."""',
            '    with open(path, newline="", encoding="utf-8") as fh:',
            "        return list(csv.DictReader(fh))",
            "",
            "",
            "def summary(rows: list[dict[str, str]], column: str) -> dict[str, float]:",
            "    values = [float(r[column]) for r in rows if r.get(column)]",
            "    # mean and median of the non-empty cells",
            '    return {"mean": mean(values), "median": median(values), "n": len(values)}',
        ]
    )
    prose = (
        "That's it! Let me know if you want to extend this to *grouped* statistics or to "
        "write the summary back to a new CSV file. You could also add command-line "
        "arguments with `argparse` so the column name is not hard-coded.\n\n"
    )
    text = (
        "## Reading a CSV file\n\nHere is how you can **read** a CSV file and compute a few "
        "*statistics*. The `csv` module is part of the standard library.\n\n"
        "1. Open the file with `open()`.\n2. Wrap it in a `csv.DictReader`.\n3. Loop over the rows.\n\n"
        f"```python\n{code}\n```\n\nThe result looks like this:\n\n"
        "| Statistic | Value | Notes |\n|-----------|------:|-------|\n"
        "| mean | 12.5 | average of all prices |\n| median | 11.0 | middle value |\n"
        "| n | 240 | rows with a price |\n\n"
        "- [x] read the file\n- [ ] handle missing values\n\n"
        "> **Tip:** for large files consider `pandas.read_csv`. See [the docs](https://pandas.pydata.org/).\n\n"
    )
    while len(text.encode()) < 3000:
        text += prose
    return text


@pytest.fixture
def view(qtbot) -> MarkdownView:  # type: ignore[no-untyped-def]
    v = MarkdownView()
    qtbot.addWidget(v)
    v.resize(600, 400)
    return v


def _tables(doc: QTextDocument) -> list[QTextTable]:
    found: list[QTextTable] = []

    def walk(frame) -> None:  # type: ignore[no-untyped-def]
        for child in frame.childFrames():
            if isinstance(child, QTextTable):
                found.append(child)
            walk(child)

    walk(doc.rootFrame())
    return found


def _code_blocks(doc: QTextDocument) -> list:  # type: ignore[type-arg]
    out = []
    b = doc.begin()
    while b.isValid():
        if is_code_block(b):
            out.append(b)
        b = b.next()
    return out


# -- fence parser ----------------------------------------------------------------------


def test_parser_finds_backtick_and_tilde_fences_with_info_strings() -> None:
    text = "a\n```python title=x\nprint(1)\n```\nb\n~~~ {.rust}\nfn main() {}\n~~~~\n```\nplain\n```"
    fences = parse_fences(text)
    assert [(f.language, f.code, f.closed) for f in fences] == [
        ("python", "print(1)", True),
        ("rust", "fn main() {}", True),
        ("", "plain", True),
    ]


def test_parser_longer_fence_keeps_shorter_fences_as_code() -> None:
    text = "````markdown\n```py\nx = 1\n```\n````\n"
    (f,) = parse_fences(text)
    assert f.language == "markdown"
    assert f.code == "```py\nx = 1\n```"


def test_parser_unterminated_fence_is_a_block() -> None:
    (f,) = parse_fences("Intro\n\n```js\nconst a = 1;\nconst b")
    assert (f.language, f.code, f.closed) == ("js", "const a = 1;\nconst b", False)


def test_parser_ignores_inline_triple_backticks_and_indented_code() -> None:
    assert parse_fences("use ```code``` inline\n\n    ```\n    not a fence\n    ```\n") == []


def test_parser_fences_in_lists_and_quotes() -> None:
    text = "1. Install:\n\n   ```bash\n   pip install x\n     indented\n   ```\n2. Done\n\n> ```sh\n> ls\n> ```\n"
    fences = parse_fences(text)
    assert [(f.language, f.code, f.indent, f.quote) for f in fences] == [
        ("bash", "pip install x\n  indented", "   ", ""),
        ("sh", "ls", "", "> "),
    ]


def test_copy_links_are_their_own_paragraph_in_the_same_container() -> None:
    text = "| a |\n|---|\n| 1 |\n```py\nx\n```\n- item\n  ```sh\n  ls\n  ```\n> ```\n> q\n> ```"
    out = with_copy_links(text, parse_fences(text)).split("\n")
    # blank line first, so the link is neither a table row nor part of a paragraph
    i = out.index("[Copy Python code](copy-code:0)")
    assert out[i - 1] == "" and out[i + 1] == "```py"
    i = out.index("  [Copy Bash code](copy-code:1)")
    assert out[i - 1] == "" and out[i + 1] == "  ```sh"
    i = out.index("> [Copy code](copy-code:2)")
    assert out[i - 1] == ">"
    assert copy_label("c++") == "Copy C++ code" and copy_label("a](x)") == "Copy ax code"


# -- rendering -----------------------------------------------------------------------------


def test_renders_heading_list_table_and_highlighted_code(view: MarkdownView) -> None:
    view.set_markdown(SAMPLE)
    doc = view.document()
    text = doc.toPlainText()
    assert "Title" in text and "one" in text and "After the code." in text
    assert "#" not in text.split("\n")[0]  # the heading was parsed, not shown raw

    tables = _tables(doc)
    assert len(tables) == 1 and (tables[0].rows(), tables[0].columns()) == (3, 2)

    code = _code_blocks(doc)
    assert "\n".join(b.text() for b in code) == PY_CODE
    family = code_font_family()
    for b in code:
        if b.text():
            font = b.charFormat().font()
            assert family in (b.charFormat().fontFamilies() or [font.family()]), font.family()
            # where the machine has a fixed-pitch font at all, code gets one
            if any(QFontDatabase.isFixedPitch(f) for f in QFontDatabase.families()):
                assert QFontInfo(font).fixedPitch(), font.family()
    default_fg = view.palette().color(view.foregroundRole())
    colored = [
        r for b in code for r in b.layout().formats()
        if r.format.hasProperty(r.format.Property.ForegroundBrush) and r.format.foreground().color() != default_fg
    ]
    assert len(colored) >= 5  # keywords, strings, comment...
    assert view.plain_text() == SAMPLE


def test_copy_link_is_labelled_and_above_the_code(view: MarkdownView) -> None:
    view.set_markdown(SAMPLE)
    doc = view.document()
    first_code = _code_blocks(doc)[0]
    link = first_code.previous()
    assert link.text() == "Copy Python code"
    fmt = link.begin().fragment().charFormat()
    assert fmt.isAnchor() and fmt.anchorHref() == "copy-code:0"


def test_copy_puts_exact_code_on_clipboard(view: MarkdownView, qtbot) -> None:  # type: ignore[no-untyped-def]
    view.set_markdown(SAMPLE + "\n~~~\nsecond  block\n\n~~~\n")
    assert view.code_blocks() == [PY_CODE, "second  block\n"]
    with qtbot.waitSignal(view.code_copied, timeout=1000) as sig:
        view.anchorClicked.emit(QUrl("copy-code:0"))
    assert sig.args == [PY_CODE]
    assert QGuiApplication.clipboard().text() == PY_CODE
    with qtbot.waitSignal(view.code_copied, timeout=1000):
        view.anchorClicked.emit(QUrl("copy-code:1"))
    assert QGuiApplication.clipboard().text() == "second  block\n"


def test_mouse_click_on_copy_link_copies(view: MarkdownView, qtbot) -> None:  # type: ignore[no-untyped-def]
    view.set_markdown(SAMPLE)
    view.show()
    qtbot.waitExposed(view)
    link = _code_blocks(view.document())[0].previous()
    cursor = view.textCursor()
    cursor.setPosition(link.position() + 2)
    point = view.cursorRect(cursor).center()
    with qtbot.waitSignal(view.code_copied, timeout=1000):
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert QGuiApplication.clipboard().text() == PY_CODE


MIXED = (
    "Intro:\n```python\ndef f():\n    return 1\n```\nText after\n\n"
    "1. Step\n   ```bash\n   pip install x\n   ```\n2. Next\n\n"
    "- ```js\n  let a = 1;\n  ```\n- other\n\n"
    "> Quote\n> ```sh\n> ls -la\n> ```\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n```\nafter table\n```\n\n"
    "````md\n```py\nnested\n```\n````\n~~~\ntilde\n~~~\nend"
)


def test_each_copy_link_sits_above_its_own_code_while_streaming(view: MarkdownView) -> None:
    """For every prefix of a message with fences in lists, quotes and after a table, the
    code under copy link N (as Qt rendered it) is the code that link N copies."""
    for k in range(1, len(MIXED) + 1):
        view.set_markdown(MIXED[:k])
        links = 0
        b = view.document().begin()
        while b.isValid():
            it = b.begin()
            fmt = it.fragment().charFormat() if not it.atEnd() else None
            if fmt is not None and fmt.isAnchor() and fmt.anchorHref().startswith("copy-code:"):
                n = int(fmt.anchorHref().split(":")[1])
                lines, c = [], b.next()
                while c.isValid() and is_code_block(c):
                    lines.append(c.text().rstrip())
                    c = c.next()
                expected = [line.rstrip() for line in view.code_blocks()[n].split("\n")]
                assert lines == expected or (lines == [] and expected == [""]), (MIXED[:k], n)
                links += 1
            b = b.next()
        assert links == len(view.code_blocks()), MIXED[:k]
    assert len(view.code_blocks()) == 7
    assert view.document().toPlainText().count("Copy ") == 7


def test_links_only_http_and_only_reported(view: MarkdownView, qtbot) -> None:  # type: ignore[no-untyped-def]
    view.set_markdown(SAMPLE)
    assert not view.openLinks() and not view.openExternalLinks()
    with qtbot.waitSignal(view.link_activated, timeout=1000) as sig:
        view.anchorClicked.emit(QUrl("https://example.com"))
    assert sig.args == [QUrl("https://example.com")]
    with qtbot.assertNotEmitted(view.link_activated):
        view.anchorClicked.emit(QUrl("file:///etc/passwd"))
        view.anchorClicked.emit(QUrl("javascript:alert(1)"))


def test_remote_images_are_never_loaded(view: MarkdownView) -> None:
    for url in ("https://tracker.example/pixel.png", "http://x.example/a.png", "file://server/share/a.png"):
        assert not view.loadResource(int(QTextDocument.ResourceType.ImageResource), QUrl(url))
    view.set_markdown("See ![a cat](https://example.com/cat.png) here.")
    text = view.document().toPlainText()
    assert "[image: a cat]" in text and "\ufffc" not in text  # a link, not an image object


def test_height_follows_content_and_width(view: MarkdownView) -> None:
    view.set_markdown("Short.")
    short = view.heightForWidth(400)
    view.set_markdown(_long_message())
    long_ = view.heightForWidth(400)
    assert long_ > short * 5
    assert view.heightForWidth(200) > long_ > view.heightForWidth(900)  # narrower reflows taller
    assert view.sizeHint().height() > short


def test_stack_in_scroll_area_gets_content_heights(qtbot) -> None:  # type: ignore[no-untyped-def]
    area = QScrollArea()
    area.setWidgetResizable(True)
    inner = QWidget()
    lay = QVBoxLayout(inner)
    views = [MarkdownView(), MarkdownView()]
    for v in views:
        lay.addWidget(v)
    lay.addStretch(1)
    area.setWidget(inner)
    qtbot.addWidget(area)
    views[0].set_markdown("One line.")
    views[1].set_markdown(_long_message())
    area.resize(500, 600)
    area.show()
    qtbot.waitExposed(area)
    qtbot.wait(20)
    for v in views:
        doc_h = v.document().size().height()
        assert abs(v.height() - doc_h) <= 2, (v.height(), doc_h)
    old = views[1].height()
    area.resize(300, 600)
    qtbot.waitUntil(lambda: views[1].height() > old, timeout=2000)


def test_streaming_growth_and_timing(view: MarkdownView, capsys) -> None:  # type: ignore[no-untyped-def]
    view.show()
    full = _long_message()
    assert len(full.encode()) >= 3000
    for k in range(1, 201):
        view.set_markdown(full[: len(full) * k // 200])
    assert view.plain_text() == full
    assert view.code_blocks()[0].startswith("import csv")

    # cut inside the fence: the open block renders as code and can be copied
    cut = full.index("def summary")
    view.set_markdown(full[:cut])
    assert parse_fences(full[:cut])[0].closed is False
    assert any("def load" in b.text() for b in _code_blocks(view.document()))

    times = []
    for i in range(30):
        t = time.perf_counter()
        view.set_markdown(full + " " * (i % 2))  # a new text each time: no short cut
        view.document().size()  # include the layout, as the chat's layout will ask for it
        times.append(time.perf_counter() - t)
    avg_ms = sum(times) / len(times) * 1000
    with capsys.disabled():
        print(f"\nMarkdownView: {len(full.encode())} bytes, set_markdown + layout {avg_ms:.2f} ms average")
    assert avg_ms < 250  # a sanity bound; bench/ui_responsiveness.py measures the real cost


def _formats(view: MarkdownView) -> list[list[tuple[int, int, str]]]:
    out = []
    b = view.document().begin()
    while b.isValid():
        out.append([(r.start, r.length, r.format.foreground().color().name()) for r in b.layout().formats()])
        b = b.next()
    return out


def test_streamed_code_block_is_lexed_incrementally_then_exactly(qtbot) -> None:  # type: ignore[no-untyped-def]
    code = "\n".join(f"def f{i}(x):\n    \"\"\"Doc {i}.\n    more\"\"\"\n    return x * {i}  # c\n" for i in range(30))
    full = f"Intro.\n\n```python\n{code}```\n\nDone."
    streamed, fresh = MarkdownView(), MarkdownView()
    qtbot.addWidget(streamed)
    qtbot.addWidget(fresh)
    for k in range(10, len(full) + 10, 10):
        streamed.set_markdown(full[:k])
    # per render only the new lines were lexed: a few whole-block passes, not ~150
    assert streamed._highlighter.full_lexes <= 5
    fresh.set_markdown(full)
    assert _formats(streamed) == _formats(fresh)  # closed fence: lexed whole, exact


def test_selection_survives_rerender(view: MarkdownView) -> None:
    view.set_markdown("Hello world, this is a streaming answer")
    cursor = view.textCursor()
    cursor.setPosition(0)
    cursor.setPosition(5, cursor.MoveMode.KeepAnchor)
    view.setTextCursor(cursor)
    view.set_markdown("Hello world, this is a streaming answer that grows")
    assert view.textCursor().selectedText() == "Hello"


def test_theme_switch_changes_code_colors(view: MarkdownView) -> None:
    view.set_markdown(SAMPLE)
    light_bg = _code_blocks(view.document())[0].blockFormat().background().color()
    view.set_dark(True)
    dark_bg = _code_blocks(view.document())[0].blockFormat().background().color()
    assert view.dark() and light_bg.lightness() > 128 > dark_bg.lightness()


def test_highlighter_standalone_and_unknown_language(qtbot) -> None:  # type: ignore[no-untyped-def]
    assert lexer_for("no-such-language") is None and lexer_for("PY") is not None
    doc = QTextDocument()
    doc.setMarkdown("```nosuchlang\nx = 1\n```\n\n```python\nx = 'a'\n```", QTextDocument.MarkdownDialectGitHub)
    hl = PygmentsHighlighter(doc)
    hl.rehighlight()
    blocks = _code_blocks(doc)
    assert not blocks[0].layout().formats()
    assert blocks[1].layout().formats()
    hl.set_dark(True)
    fg = [r.format.foreground().color() for r in blocks[1].layout().formats()]
    assert any(c != QColor(Qt.GlobalColor.black) for c in fg)


def test_accessibility_and_focus(view: MarkdownView) -> None:
    assert view.accessibleName() == "Message text"
    assert view.focusPolicy() & Qt.FocusPolicy.TabFocus
    flags = view.textInteractionFlags()
    assert flags & Qt.TextInteractionFlag.TextSelectableByKeyboard
    assert flags & Qt.TextInteractionFlag.TextSelectableByMouse
    assert view.isReadOnly()
    font = QFont(view.font())
    font.setPointSize(20)
    view.set_markdown("Some text")
    small = view.heightForWidth(400)
    view.setFont(font)
    assert view.heightForWidth(400) > small  # the widget font sets the text size

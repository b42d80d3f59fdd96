"""What a model or a user writes shows as written: raw HTML is text, nothing is fetched,
nothing restyles the page, and huge or deeply nested answers lay out quickly."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QColor, QTextDocument

from assistant.ui.common.markdown_view import (
    BREAK_EVERY,
    LONG_RUN,
    ZERO_WIDTH_SPACE,
    MarkdownView,
    breakable,
)
from tests.ui.common.hostile_answers import HOSTILE_ANSWERS, missing_words

USER_MESSAGE = 'In HTML, what does `<div class="x">` do? Is `<script>` safe? Also `<b>bold</b>` and 3 < 5.'


@pytest.fixture
def view(qtbot) -> MarkdownView:  # type: ignore[no-untyped-def]
    v = MarkdownView()
    qtbot.addWidget(v)
    v.resize(600, 400)
    v.show()
    return v


@pytest.mark.parametrize("name,text", HOSTILE_ANSWERS, ids=[n for n, _t in HOSTILE_ANSWERS])
def test_every_word_of_a_hostile_answer_is_shown(view: MarkdownView, name: str, text: str) -> None:
    view.set_markdown(text)
    assert missing_words(text, view.visible_text()) == []


def test_the_word_check_notices_a_lost_word() -> None:
    # the check itself: what the old view showed for the message fails it
    assert missing_words(USER_MESSAGE, "In HTML, what does") != []
    assert missing_words("a <b>bold</b> move", "a bold move") == ["b", "b"]


def test_tags_are_text_not_html(view: MarkdownView) -> None:
    view.set_markdown('Is <script>alert(1)</script> safe? <b>bold</b> <i>it</i> <u>u</u> <span style="color:red">red</span>')
    text = view.visible_text()
    assert "<script>alert(1)</script>" in text and "<b>bold</b>" in text and '<span style="color:red">red</span>' in text
    doc = view.document()
    block = doc.begin()
    while block.isValid():  # no fragment was made bold, italic, underlined or red by a tag
        it = block.begin()
        while not it.atEnd():
            fmt = it.fragment().charFormat()
            assert not fmt.fontUnderline() and not fmt.fontItalic() and fmt.fontWeight() <= 400
            assert fmt.foreground().color() != QColor("red")
            it += 1
        block = block.next()


def test_an_unclosed_think_tag_keeps_what_follows(view: MarkdownView) -> None:
    view.set_markdown("<think>\nhidden?\n\nno: shown")
    assert "<think>" in view.visible_text() and "no: shown" in view.visible_text()


def test_a_style_block_changes_nothing(view: MarkdownView) -> None:
    view.set_markdown("<style>p { font-size: 80px; color: red }</style>\n\nPlain words.")
    normal = MarkdownView()
    normal.resize(600, 400)
    normal.set_markdown("Plain words.")
    cursor_fmt = view.document().lastBlock().begin().fragment().charFormat()
    assert cursor_fmt.foreground().color() != QColor("red")
    assert cursor_fmt.fontPointSize() == normal.document().lastBlock().begin().fragment().charFormat().fontPointSize()
    assert "<style>" in view.visible_text()


def test_no_image_is_loaded_from_a_file_or_the_network(view: MarkdownView, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []
    original = QTextDocument.loadResource

    def spy(doc, kind, url):  # type: ignore[no-untyped-def]
        asked.append(url.toString())
        return original(doc, kind, url)

    monkeypatch.setattr(QTextDocument, "loadResource", spy)
    view.set_markdown('![secret](file:///etc/passwd) <img src="file:///etc/hosts"> ![cat](https://x.example/cat.png)')
    view.grab()  # paint: images would be asked for now
    assert asked == []
    for url in ("file:///etc/passwd", "file:///tmp/x.png", "https://x.example/a.png", "file://server/share/a.png"):
        assert not view.loadResource(int(QTextDocument.ResourceType.ImageResource), QUrl(url))
    text = view.visible_text()
    assert "[image: secret]" in text and "[image: cat]" in text and '<img src="file:///etc/hosts">' in text
    assert "\ufffc" not in text  # no image object in the document


def test_a_file_link_is_never_activated(view: MarkdownView, qtbot) -> None:  # type: ignore[no-untyped-def]
    view.set_markdown('<a href="file:///etc/passwd">x</a> [y](file:///etc/passwd) [z](https://example.com)')
    seen: list[QUrl] = []
    view.link_activated.connect(seen.append)
    for url in ("file:///etc/passwd", "https://example.com"):
        view.anchorClicked.emit(QUrl(url))
    assert [u.toString() for u in seen] == ["https://example.com"]
    assert '<a href="file:///etc/passwd">x</a>' in view.visible_text()


def test_a_user_message_shows_exactly_as_typed(view: MarkdownView) -> None:
    for text in (USER_MESSAGE, "<think>\nunclosed", "**not bold** and # not a heading\n    four spaces kept", "a &amp; b &lt;"):
        view.set_plain_text(text)
        assert view.visible_text() == text
        assert view.plain_text() == text


def test_switching_between_plain_and_markdown_renders_again(view: MarkdownView) -> None:
    view.set_plain_text("**x**")
    assert view.visible_text() == "**x**"
    view.set_markdown("**x**")
    assert view.visible_text() == "x"


def test_long_runs_get_break_points_and_nothing_else() -> None:
    short = "y" * (LONG_RUN - 1)
    assert breakable(short) == short
    long = "x" * (LONG_RUN * 3)
    broken = breakable(long)
    assert broken.replace(ZERO_WIDTH_SPACE, "") == long
    assert max(len(p) for p in broken.split(ZERO_WIDTH_SPACE)) == BREAK_EVERY
    assert not broken.endswith(ZERO_WIDTH_SPACE)
    words = "a b " + long + " c"
    assert breakable(words).replace(ZERO_WIDTH_SPACE, "") == words


def test_a_megabyte_line_lays_out_in_seconds_not_minutes(view: MarkdownView) -> None:
    # unbroken, Qt's layout of one word is quadratic: 100k characters took 2 s, 1 MB 146 s
    text = "z" * 1_000_000
    t0 = time.perf_counter()
    view.set_markdown(text)
    height = view.heightForWidth(600)
    elapsed = time.perf_counter() - t0
    assert height > 1000 and elapsed < 20
    assert view.visible_text() == text
    assert view.plain_text() == text  # Copy gives the text without the break points


def test_deep_nesting_renders_every_level(view: MarkdownView) -> None:
    lists = "".join("  " * i + f"- level{i}\n" for i in range(200))
    view.set_markdown(lists)
    assert missing_words(lists, view.visible_text()) == []
    quotes = ">" * 500 + " deepest"
    view.set_markdown(quotes)
    assert "deepest" in view.visible_text()


def test_a_wrapped_code_line_hangs_under_its_own_indent(view: MarkdownView) -> None:
    code = "def f():\n        return compute(" + ", ".join(f"argument_{i}" for i in range(30)) + ")\n"
    view.set_markdown(f"```python\n{code}```")
    view.resize(320, 400)
    view.heightForWidth(320)
    view.document().setTextWidth(300)
    block = view.document().begin()
    while block.isValid() and not block.text().lstrip().startswith("return"):
        block = block.next()
    layout = block.layout()
    assert layout.lineCount() > 1  # it wraps at this width
    first, second = layout.lineAt(0), layout.lineAt(1)
    space = view.fontMetrics().horizontalAdvance(" ")
    indent_px = first.cursorToX(8)[0] - first.cursorToX(0)[0]  # where "return" begins
    assert second.x() > first.x() + indent_px  # continuation lines start right of the code's own indent
    assert first.x() <= view.document().documentMargin() + space  # the first line is where it always was
    assert "return compute(" in view.visible_text() and view.code_blocks() == [code.rstrip("\n")]

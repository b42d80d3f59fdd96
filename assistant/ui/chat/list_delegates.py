"""How the sidebar's lists are drawn: date headings above the chats ("Today", "Yesterday",
...), and search results as the chat's title over a plain snippet with the match marked."""

from __future__ import annotations

import html

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QAbstractTextDocumentLayout, QFont, QFontMetrics, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from assistant.ui.chat.models.conversations import ConversationListModel, SearchResultsModel
from assistant.ui.common.theme import colors

Index = QModelIndex | QPersistentModelIndex
PAD = 4


def _heading_font(option: QStyleOptionViewItem) -> QFont:
    f = QFont(option.font)
    f.setBold(True)
    f.setPointSizeF(max(6.0, f.pointSizeF() * 0.9))
    return f


class SectionDelegate(QStyledItemDelegate):
    """A chat row; the first of each date section has its heading drawn above it."""

    def _heading_height(self, option: QStyleOptionViewItem, index: Index) -> int:
        if not index.data(ConversationListModel.FirstInSectionRole):
            return 0
        return QFontMetrics(_heading_font(option)).height() + 2 * PAD + (PAD if index.row() else 0)

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802 (Qt override)
        hint = super().sizeHint(option, index)
        return QSize(hint.width(), hint.height() + self._heading_height(option, index))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        head = self._heading_height(option, index)
        if head:
            painter.save()
            dark = option.palette.color(QPalette.ColorRole.Base).lightness() < 128
            painter.setPen(colors(dark).muted_text)
            painter.setFont(_heading_font(option))
            r = QRect(option.rect.left() + PAD, option.rect.top(), option.rect.width() - 2 * PAD, head)
            painter.drawText(r, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom),
                             str(index.data(ConversationListModel.SectionRole) or ""))
            painter.restore()
        item = QStyleOptionViewItem(option)
        item.rect = option.rect.adjusted(0, head, 0, 0)
        super().paint(painter, item, index)


class HitDelegate(QStyledItemDelegate):
    """The chat's title in bold, then the snippet's plain text with the matched words marked."""

    def _document(self, option: QStyleOptionViewItem, index: Index) -> QTextDocument:
        title = html.escape(str(index.data(SearchResultsModel.TitleRole) or ""))
        text = str(index.data(SearchResultsModel.SnippetRole) or "")
        spans = index.data(SearchResultsModel.MatchesRole) or []
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        mark = "" if selected else "background-color:#fff0a8;color:#000;"
        parts, last = [], 0
        for start, end in spans:
            parts.append(html.escape(text[last:start]))
            parts.append(f'<b style="{mark}">{html.escape(text[start:end])}</b>')
            last = end
        parts.append(html.escape(text[last:]))
        doc = QTextDocument()
        doc.setDefaultFont(option.font)
        doc.setDocumentMargin(PAD)
        doc.setHtml(f"<b>{title}</b><br>{''.join(parts)}")
        doc.setTextWidth(max(40, option.rect.width()))
        return doc

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802 (Qt override)
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        if opt.rect.width() <= 0 and opt.widget is not None:
            opt.rect = QRect(0, 0, opt.widget.width() - 4, 0)
        doc = self._document(opt, index)
        return QSize(int(doc.idealWidth()), int(doc.size().height()) + 2)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        style = opt.widget.style() if opt.widget else None
        if style is not None:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        doc = self._document(opt, index)
        painter.save()
        painter.translate(opt.rect.topLeft())
        ctx = QAbstractTextDocumentLayout.PaintContext()
        role = QPalette.ColorRole.HighlightedText if opt.state & QStyle.StateFlag.State_Selected else QPalette.ColorRole.Text
        ctx.palette.setColor(QPalette.ColorRole.Text, opt.palette.color(role))
        ctx.clip = QRect(0, 0, opt.rect.width(), opt.rect.height())
        painter.setClipRect(ctx.clip)
        doc.documentLayout().draw(painter, ctx)
        painter.restore()

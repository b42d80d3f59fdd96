"""Item models of the Documents dialog: the collections, and the passages a search found
with their keyword and vector ranks ("Why these passages?")."""

from __future__ import annotations

from typing import Any

from assistant.documents.service import CollectionInfo
from assistant.documents.types import Passage
from assistant.ui.common.table_model import RowTableModel


class CollectionsModel(RowTableModel[CollectionInfo]):
    columns = ("Collection", "Files", "Passages", "Status")

    def cell(self, row: CollectionInfo, column: int) -> str:
        if column == 0:
            return row.name + ("  (never to the cloud)" if row.never_cloud else "")
        if column == 1:
            return f"{row.indexed} of {row.files}"
        if column == 2:
            return f"{row.chunks:,}"
        parts = []
        if row.pending:
            parts.append(f"{row.pending} to index")
        if row.failed:
            parts.append(f"{row.failed} not read")
        return ", ".join(parts) or "up to date"


class PassagesModel(RowTableModel[Passage]):
    columns = ("#", "Where", "Keyword rank", "Vector rank", "Similarity", "Passage")

    def cell(self, row: Passage, column: int) -> str:
        if column == 0:
            return str(self.rows().index(row) + 1)
        if column == 1:
            return row.where
        if column == 2:
            return f"#{row.keyword_rank}" if row.keyword_rank else "–"
        if column == 3:
            return f"#{row.vector_rank}" if row.vector_rank else "–"
        if column == 4:
            return f"{row.vector_score:.2f}" if row.vector_score is not None else "–"
        return row.snippet(140)

    def role_value(self, row: Passage, column: int, role: int) -> Any:
        return None

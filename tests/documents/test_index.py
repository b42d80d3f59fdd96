"""The index's keyword search: the best chunks of the chosen collections only, exactly as
one query joined to chunks and files ranks them, by each of its three paths."""

from __future__ import annotations

from pathlib import Path

from assistant.documents.index import DocumentIndex

REFERENCE = ("SELECT chunks_fts.rowid, bm25(chunks_fts) AS s FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid "
             "JOIN files f ON f.id = c.file_id WHERE chunks_fts MATCH ? AND f.collection_id IN ({}) ORDER BY s LIMIT ?")


def _add(index: DocumentIndex, collection: str, texts: list[str]) -> int:
    col = index.ensure_collection(collection)
    with index.write() as c:
        fid = c.execute("INSERT INTO files(collection_id, path, kind, status) VALUES (?, ?, 'md', 'indexed')",
                        (col.id, f"/{collection}.md")).lastrowid
        c.executemany("INSERT INTO chunks(file_id, ord, text, hash) VALUES (?, ?, ?, ?)",
                      [(fid, i, t, f"{collection}{i}") for i, t in enumerate(texts)])
    return col.id


def _reference(index: DocumentIndex, match: str, cols: list[int], limit: int) -> list[tuple[int, float]]:
    rows = index.query(REFERENCE.format(",".join("?" * len(cols))), (match, *cols, limit))
    return [(int(r[0]), float(r[1])) for r in rows]


def test_keyword_search_keeps_to_the_collections_and_ranks_as_the_joined_query(tmp_path: Path) -> None:
    index = DocumentIndex(tmp_path / "i.sqlite3")
    filler = " ".join(f"word{i}" for i in range(40))
    # a: few chunks with the word once (weak hits); b: many with it three times (strong hits)
    a = _add(index, "a", [f"the lantern {filler} {i}" for i in range(6)] + [f"{filler} nothing {i}" for i in range(3)])
    b = _add(index, "b", [f"lantern lantern lantern {i}" for i in range(60)])
    match = '"lantern"'

    statements: list[str] = []
    index._conn.set_trace_callback(statements.append)
    everything = index.keyword_search(match, [a, b], 5)  # every file chosen: no filter, one FTS5 query
    index._conn.set_trace_callback(None)
    ours = [sql for sql in statements if "MATCH" in sql or "JOIN" in sql]  # (FTS5's own statements aside)
    assert len(ours) == 1 and "JOIN" not in ours[0]
    assert everything == _reference(index, match, [a, b], 5) and len(everything) == 5
    assert {cid for cid, _ in everything} <= set(range(10, 70))  # b's strong hits first

    # b's 60 hits fill the best 8 * limit of the index: only the joined query finds a's
    only_a = index.keyword_search(match, [a], 5)
    assert only_a == _reference(index, match, [a], 5) and len(only_a) == 5
    assert {cid for cid, _ in only_a} <= set(range(1, 7))

    # c's hits are the strongest, b's are within the best 8 * limit: filtered, same answer
    c = _add(index, "c", [f"lantern lantern lantern lantern {i}" for i in range(3)])
    only_b = index.keyword_search(match, [b], 5)
    assert only_b == _reference(index, match, [b], 5) and {cid for cid, _ in only_b} <= set(range(10, 70))
    assert index.keyword_search(match, [a, b, c], 3) == _reference(index, match, [c], 3)

    assert index.keyword_search('"nowhere"', [a], 5) == []
    assert index.keyword_search('"lantern', [a], 5) == []  # FTS5 cannot parse it: no keyword hits
    index.close()

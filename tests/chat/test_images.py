"""The chat's images: what an image is (real files made by Pillow, then cut, damaged or
disguised), the store by content hash in the data folder, the rows with their messages,
the clean-up when chats and messages go, and migration 9 → 10 of an older history."""

from __future__ import annotations

import io
import sqlite3
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from assistant.chat import schema as schema_module
from assistant.chat.images import ImageStore, StoredImage, image_info
from assistant.chat.store import ChatStore
from assistant.chat.turn import history_messages
from assistant.core import image_format
from assistant.core.image_format import MAX_IMAGE_BYTES, info_of
from assistant.errors import ImageError


def encode(fmt: str, size: tuple[int, int] = (37, 21), color: tuple[int, int, int] = (200, 10, 10), **kw: object) -> bytes:
    b = io.BytesIO()
    Image.new("RGB", size, color).save(b, fmt, **kw)
    return b.getvalue()


def animated(fmt: str, n: int = 3) -> bytes:
    frames = [Image.new("RGB", (20, 10), (i * 40, 0, 0)) for i in range(n)]
    b = io.BytesIO()
    frames[0].save(b, fmt, save_all=True, append_images=frames[1:], duration=100)
    return b.getvalue()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[ChatStore]:
    with ChatStore.open(db_path) as s:
        yield s


# --- what an image is --------------------------------------------------------------------------------
@pytest.mark.parametrize(("fmt", "kind", "kw"), [
    ("PNG", "png", {}), ("JPEG", "jpeg", {}), ("JPEG", "jpeg", {"progressive": True}), ("GIF", "gif", {}),
    ("WEBP", "webp", {}), ("WEBP", "webp", {"lossless": True}), ("BMP", "bmp", {}),
])
def test_each_format_is_read_from_its_header(fmt: str, kind: str, kw: dict[str, object]) -> None:
    assert info_of(encode(fmt, (37, 21), **kw)) == (kind, 37, 21, 1)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_an_animated_image_counts_its_frames_and_says_the_first_is_used(fmt: str) -> None:
    info = info_of(animated(fmt, 3))
    assert info.frames == 3 and (info.width, info.height) == (20, 10)
    assert info.note == f"An animated {fmt} (3 frames): models see its first frame."
    assert info_of(encode(fmt)).note == ""


def png_of_size(width: int, height: int) -> bytes:
    """A PNG whose header says width × height (one grey row of data: the header is what is read)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_image_info_reads_a_file_and_a_huge_picture_costs_only_its_header(tmp_path: Path) -> None:
    # 20,000 × 20,000 pixels: the header says so, nothing is decoded (the engine downscales)
    path = tmp_path / "huge.png"
    path.write_bytes(png_of_size(20000, 20000))
    assert image_info(path) == ("png", 20000, 20000, 1)
    path.write_bytes(png_of_size(70000, 10))
    with pytest.raises(ImageError, match="70000 × 10"):
        image_info(path)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP"])
def test_a_cut_short_image_is_refused_as_damaged(fmt: str) -> None:
    data = encode(fmt, (64, 48), color=(1, 2, 3))
    for cut in (len(data) // 2, len(data) - 2):
        with pytest.raises(ImageError, match=rf"cat\.x is a damaged or incomplete {fmt} file"):
            info_of(data[:cut], "cat.x")


def test_a_png_whose_header_checksum_is_wrong_is_damaged() -> None:
    data = bytearray(encode("PNG"))
    data[17] ^= 0xFF  # a bit of the width, not its CRC
    with pytest.raises(ImageError, match="checksum"):
        info_of(bytes(data))


def test_a_header_that_claims_zero_or_absurd_pixels_is_damaged() -> None:
    data = bytearray(encode("BMP"))
    data[18:22] = struct.pack("<i", 0)
    with pytest.raises(ImageError, match="0 × 21"):
        info_of(bytes(data))


@pytest.mark.parametrize(("head", "says"), [
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", "not supported: HEIC; convert it to JPEG or PNG"),
    (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00", "not supported: HEIC; convert it to JPEG or PNG"),
    (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00", "not supported: AVIF"),
    (b"II*\x00\x08\x00\x00\x00", "not supported: TIFF"),
    (b"%PDF-1.7\n", "not supported: PDF"),
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "not supported: SVG"),
    (b"hello, world", "is not an image this app reads"),
    (b"", "is empty"),
])
def test_formats_that_are_not_ours_are_named(head: bytes, says: str) -> None:
    with pytest.raises(ImageError, match=says):
        info_of(head + b"\x00" * 64, "x.bin") if head else info_of(head, "x.bin")


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "scan.png"
    with open(big, "wb") as f:  # 200 MB, sparse: nothing is written but its end
        f.write(encode("PNG"))
        f.truncate(200_000_000)
    read: list[Path] = []
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self) or b"")
    with pytest.raises(ImageError, match=r"scan\.png is 200 MB; the most an image may be is 52 MB \(50 MiB\)"):
        image_info(big)
    # the image store scales files over 50 MB down (core/image_shrink.py), up to 256 MiB
    with open(big, "r+b") as f:
        f.truncate(300_000_000)
    with pytest.raises(ImageError, match=r"scan\.png is 300 MB; images up to 268 MB can be attached"):
        ImageStore(tmp_path / "images").add_file(big)
    assert read == []
    with pytest.raises(ImageError, match="the most an image may be"):
        info_of(b"\x89PNG\r\n\x1a\n" + b"\x00" * MAX_IMAGE_BYTES, "pasted")


def test_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="gone.png cannot be read"):
        ImageStore(tmp_path).add_file(tmp_path / "gone.png")


# --- the store: content hash, dedupe --------------------------------------------------------------
def test_an_image_is_kept_once_by_its_content_hash_with_its_extension(tmp_path: Path) -> None:
    import hashlib

    images = ImageStore(tmp_path / "images")
    data = encode("JPEG")
    src = tmp_path / "holiday.jpeg"
    src.write_bytes(data)
    a = images.add_file(src)
    b = images.add_bytes(data, "pasted")
    sha = hashlib.sha256(data).hexdigest()
    assert a.path == b.path == tmp_path / "images" / f"{sha}.jpg"
    assert a.path.read_bytes() == data  # the original bytes, not a re-encoding
    assert (a.name, b.name, a.size, a.format, a.width, a.height) == ("holiday.jpeg", "pasted", len(data), "jpeg", 37, 21)
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == [f"{sha}.jpg"]  # no temp file left
    assert a.label.startswith("holiday.jpeg (1 kB, 37 × 21)")


def test_a_refused_image_leaves_nothing_behind(tmp_path: Path) -> None:
    images = ImageStore(tmp_path / "images")
    with pytest.raises(ImageError):
        images.add_bytes(encode("PNG")[:40], "cut.png")
    assert not (tmp_path / "images").exists()


# --- rows, history, clean-up -------------------------------------------------------------------------
def _ask(store: ChatStore, conv: int, text: str, *images: StoredImage) -> int:
    mid = store.add_message(conv, "user", text).id
    store.attach_images(mid, list(images))
    store.add_message(conv, "assistant", "Seen.")
    return mid


def test_images_go_with_their_message_into_the_history_as_paths(store: ChatStore) -> None:
    red, blue = store.images.add_bytes(encode("PNG"), "red.png"), store.images.add_bytes(encode("PNG", color=(0, 0, 255)), "blue.png")
    assert red.path.parent == store.path.parent / "images"
    conv = store.create_conversation().id
    mid = _ask(store, conv, "What is this?", red, blue)
    _ask(store, conv, "And now, text only.")
    assert store.message_images(mid) == [red, blue]
    assert store.conversation_images(conv) == {mid: [red, blue]}
    history = history_messages(store, conv)
    assert [(m.role, m.images) for m in history] == [
        ("user", [str(red.path), str(blue.path)]), ("assistant", []), ("user", []), ("assistant", [])]
    conn = sqlite3.connect(store.path)  # only hashes in the rows, never the bytes
    assert conn.execute("SELECT sha256, format, name, bytes FROM message_images ORDER BY position").fetchall() == [
        (red.sha256, "png", "red.png", red.size), (blue.sha256, "png", "blue.png", blue.size)]
    conn.close()


def test_attaching_an_image_whose_file_went_is_refused(store: ChatStore) -> None:
    im = store.images.add_bytes(encode("PNG"), "red.png")
    im.path.unlink()
    conv = store.create_conversation().id
    mid = store.add_message(conv, "user", "x").id
    with pytest.raises(ImageError, match="red.png is no longer in the data folder"):
        store.attach_images(mid, [im])
    assert store.message_images(mid) == []


def test_deleting_a_chat_removes_only_the_images_no_other_chat_uses(store: ChatStore) -> None:
    shared, own = store.images.add_bytes(encode("PNG"), "a"), store.images.add_bytes(encode("GIF"), "b")
    one, two = store.create_conversation().id, store.create_conversation().id
    _ask(store, one, "both", shared, own)
    _ask(store, one, "again", own)  # the same image twice in one chat: one file
    _ask(store, two, "shared", shared)
    store.delete_conversation(one)
    assert shared.path.exists() and not own.path.exists()
    store.delete_conversation(two)
    assert not shared.path.exists()


def test_the_trash_keeps_images_until_it_is_purged(store: ChatStore) -> None:
    im = store.images.add_bytes(encode("WEBP"), "w")
    keep, trashed = store.create_conversation().id, store.create_conversation().id
    _ask(store, trashed, "look", im)
    store.trash_conversation(trashed)
    assert im.path.exists()
    store.restore_conversation(trashed)
    store.trash_conversation(trashed)
    _ask(store, keep, "no image")
    assert store.purge_trash() == 1
    assert not im.path.exists() and store.conversation_images(trashed) == {}


def test_edit_and_regenerate_remove_the_images_of_the_messages_they_delete(store: ChatStore) -> None:
    first, later = store.images.add_bytes(encode("PNG"), "1"), store.images.add_bytes(encode("BMP"), "2")
    conv = store.create_conversation().id
    _ask(store, conv, "first", first)
    edited = _ask(store, conv, "later", later, first)
    store.delete_messages_from(conv, edited)
    assert first.path.exists() and not later.path.exists()


def test_never_send_images_is_kept_with_the_chat(store: ChatStore) -> None:
    conv = store.create_conversation().id
    assert store.never_images(conv) is False
    store.set_never_images(conv, True)
    assert store.never_images(conv) is True and store.get_conversation(conv).never_cloud is False  # type: ignore[union-attr]


def test_an_in_memory_history_keeps_its_images_in_a_temporary_folder_it_removes() -> None:
    s = ChatStore.open(Path(":memory:"))
    im = s.images.add_bytes(encode("PNG"), "p")
    folder = im.path.parent
    assert im.path.exists() and folder != Path("images")
    s.close()
    assert not folder.exists()


def test_a_version_9_history_migrates_to_10_with_its_chats(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path, isolation_level=None)
    for migrate in schema_module.MIGRATIONS[:9]:
        migrate(conn)
    conn.execute("PRAGMA user_version = 9")
    conn.execute("INSERT INTO conversations(title, created_at, updated_at, never_cloud) VALUES ('old', 1, 1, 1)")
    conn.execute("INSERT INTO messages(conversation_id, role, content, created_at) VALUES (1, 'user', 'old words', 1)")
    conn.close()
    with ChatStore.open(db_path) as s:
        assert s.never_images(1) is False and s.get_conversation(1).never_cloud is True  # type: ignore[union-attr]
        im = s.images.add_bytes(encode("PNG"), "new")
        s.attach_images(1, [im])
        assert [m.images for m in history_messages(s, 1)] == [[str(im.path)]]
        s.delete_conversation(1)  # the cascade of the new table works on the old rows
        assert not im.path.exists()
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 10 == len(schema_module.MIGRATIONS)
    assert conn.execute("SELECT COUNT(*) FROM message_images").fetchone()[0] == 0
    conn.close()


def test_the_limit_is_50_mb() -> None:
    assert image_format.MAX_IMAGE_BYTES == 50 * 1024 * 1024


def test_an_edit_keeps_the_images_of_the_exchange_it_sets_aside(store: ChatStore) -> None:
    from assistant.chat import exchanges

    im, other = store.images.add_bytes(encode("PNG"), "kept.png"), store.images.add_bytes(encode("GIF"), "new.gif")
    conv = store.create_conversation().id
    question = store.get_message(_ask(store, conv, "What is it?", im))
    assert question is not None and exchanges.set_aside(store, question)
    assert store.conversation_images(conv) == {} and im.path.exists()  # set aside: its file stays
    edited = store.get_message(_ask(store, conv, "What is this one?", other))
    assert edited is not None and exchanges.show(store, edited, -1)
    shown = store.messages(conv)[0]
    assert (shown.content, store.message_images(shown.id)) == ("What is it?", [im])
    assert other.path.exists()  # now it is the edit that is set aside
    store.delete_conversation(conv)
    assert not im.path.exists() and not other.path.exists()


def test_an_image_an_exchange_set_aside_names_is_not_removed_with_another_chat(store: ChatStore) -> None:
    from assistant.chat import exchanges

    im = store.images.add_bytes(encode("PNG"), "p.png")
    one, two = store.create_conversation().id, store.create_conversation().id
    question = store.get_message(_ask(store, one, "Edited away", im))
    assert question is not None and exchanges.set_aside(store, question)
    _ask(store, two, "Same picture", im)
    store.delete_conversation(two)
    assert im.path.exists()

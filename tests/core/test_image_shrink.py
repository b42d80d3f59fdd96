"""Pictures too large to read whole, scaled down by the real libvips in a process of its
own: 20,000 × 20,000 PNG and JPEG within an address space a whole decode would not fit
in, a file over 50 MB, one cut short, a BMP that cannot be scaled, a file over the
largest size, Stop, and the image store keeping the scaled copy (what the window, the
CLI and the API server all call)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import pyvips
from support.image_files import halves, png_header_claiming

from assistant.chat.images import ImageStore
from assistant.core import image_format, image_shrink
from assistant.core.image_shrink import needs_shrink, shrink
from assistant.errors import ImageError

SIDE = 20_000
BOUND = 800 * 1024 ** 2  # a whole 20,000 × 20,000 RGB decode is 1.2 GB: it cannot fit


@pytest.fixture(scope="module")
def huge(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("huge")
    im = halves(SIDE)
    im.pngsave(str(d / "poster.png"), compression=1)
    im.jpegsave(str(d / "poster.jpg"), Q=60)
    return {"png": d / "poster.png", "jpeg": d / "poster.jpg"}


@pytest.fixture(scope="module")
def heavy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An 81 MB PNG of 4,500 × 4,500 pixels with alpha (noise, stored uncompressed): over 50 MB, under 50 MP."""
    import numpy as np

    pixels = np.random.default_rng(5).integers(0, 256, (4500, 4500, 4), dtype=np.uint8)
    path = tmp_path_factory.mktemp("heavy") / "scan.png"
    pyvips.Image.new_from_array(pixels, interpretation="srgb").pngsave(str(path), compression=0)
    assert path.stat().st_size > image_format.MAX_IMAGE_BYTES
    return path


def _pixel(path: Path, x: int, y: int) -> list[float]:
    return pyvips.Image.new_from_file(str(path))(x, y)


@pytest.mark.parametrize("fmt", ["png", "jpeg"])
def test_a_20000_pixel_picture_is_scaled_to_4096_within_the_memory_bound(huge: dict[str, Path], fmt: str,
                                                                          tmp_path: Path) -> None:
    src = huge[fmt]
    assert src.stat().st_size < image_format.MAX_IMAGE_BYTES  # too many pixels, not too many bytes
    assert needs_shrink(src) == (fmt, SIDE, SIDE, 1)
    s = shrink(src, tmp_path, memory_bound=BOUND)
    assert (s.width, s.height, s.from_width, s.from_height) == (4096, 4096, SIDE, SIDE)
    assert s.format == fmt and s.path.parent == tmp_path  # PNG stays lossless; a photo stays JPEG
    assert image_format.image_info(s.path) == (fmt, 4096, 4096, 1)
    assert _pixel(s.path, 100, 2048)[0] > 240 and _pixel(s.path, 4000, 2048)[0] < 15  # the picture, smaller
    assert s.note == "Scaled down from 20,000 × 20,000 to 4,096 × 4,096 pixels to be read (the model sees fewer still)."
    assert [p.name for p in tmp_path.iterdir()] == [s.path.name]  # no temporary file left


def test_the_memory_bound_is_applied_to_the_scaling_process(huge: dict[str, Path], tmp_path: Path) -> None:
    # 32 MB of address space: the reader cannot even start (the test above scaled the same
    # picture within 800 MB, where a whole decode would need 1.2 GB)
    with pytest.raises(ImageError, match=r"poster\.png \(20,000 × 20,000 pixels\) could not be read to scale it down"):
        shrink(huge["png"], tmp_path, memory_bound=32 * 1024 ** 2)
    assert list(tmp_path.iterdir()) == []


def test_a_picture_within_the_limits_is_left_as_it_is(tmp_path: Path) -> None:
    small = tmp_path / "photo.jpg"
    halves(4000).jpegsave(str(small))
    assert needs_shrink(small) is None and needs_shrink(tmp_path / "gone.png") is None
    assert needs_shrink(tmp_path) is None  # not a file: the usual checks say so


def test_a_file_over_50_mb_is_scaled_by_its_bytes(heavy: Path, tmp_path: Path) -> None:
    assert needs_shrink(heavy) == ("png", 4500, 4500, 1)
    s = shrink(heavy, tmp_path, memory_bound=BOUND)
    assert (s.width, s.height) == (4096, 4096)
    # noise with alpha does not compress: as PNG it would be over 50 MB again (67 MB), so it is
    # kept as JPEG, on white
    assert s.format == "jpeg" and s.path.stat().st_size < image_format.MAX_IMAGE_BYTES
    assert pyvips.Image.new_from_file(str(s.path)).bands == 3


def test_a_file_over_50_mb_cut_short_is_refused_by_the_reader(heavy: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.png"
    with heavy.open("rb") as f:
        cut.write_bytes(f.read(55 * 1024 * 1024))
    with pytest.raises(ImageError, match=r"cut\.png \(4,500 × 4,500 pixels\) could not be read to scale it down"):
        shrink(cut, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_a_header_that_lies_is_refused_by_the_reader(tmp_path: Path) -> None:
    bomb = png_header_claiming(tmp_path / "bomb.png", SIDE, SIDE)  # 4 rows of data behind the header
    with pytest.raises(ImageError, match=r"bomb\.png \(20,000 × 20,000 pixels\) could not be read"):
        shrink(bomb, tmp_path / "out")


def test_too_large_even_to_scale_and_a_bmp_are_said(tmp_path: Path) -> None:
    huge = tmp_path / "scan.png"
    with open(huge, "wb") as f:  # sparse: nothing is written but its header
        f.write(pyvips.Image.black(8, 8).pngsave_buffer())
        f.truncate(image_shrink.MAX_SOURCE_BYTES + 1)
    with pytest.raises(ImageError, match=r"scan\.png is 268 MB; images up to 268 MB can be attached"):
        needs_shrink(huge)
    bmp = tmp_path / "wall.bmp"
    header = b"BM" + (60_000_054).to_bytes(4, "little") + bytes(4) + (54).to_bytes(4, "little") + \
        (40).to_bytes(4, "little") + (5000).to_bytes(4, "little") + (4000).to_bytes(4, "little") + bytes(28)
    with open(bmp, "wb") as f:
        f.write(header)
        f.truncate(60_000_054)
    with pytest.raises(ImageError, match=r"wall\.bmp is 5,000 × 4,000 pixels \(60 MB\), too large to read as a BMP"):
        needs_shrink(bmp)


def test_stop_ends_the_scaling_process_and_keeps_nothing(huge: dict[str, Path], tmp_path: Path) -> None:
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(ImageError, match="Scaling down poster.png .* was stopped"):
        shrink(huge["png"], tmp_path, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


def test_the_image_store_keeps_the_scaled_copy_and_says_so(huge: dict[str, Path], tmp_path: Path) -> None:
    store = ImageStore(tmp_path / "images")
    kept = store.add_file(huge["png"], "poster.png")
    assert (kept.width, kept.height, kept.scaled_from, kept.format) == (4096, 4096, (SIDE, SIDE), "png")
    assert kept.path.parent == tmp_path / "images" and kept.path.stat().st_size == kept.size
    assert kept.note == "Scaled down from 20,000 × 20,000 to 4,096 × 4,096 pixels to be read."
    # the same bytes given as a request's image part: the same copy, kept once
    again = store.add_bytes(huge["png"].read_bytes(), "https://example.org/poster.png")
    assert again.sha256 == kept.sha256 and again.scaled_from == (SIDE, SIDE)
    assert sorted(p.name for p in (tmp_path / "images").iterdir()) == [kept.path.name]

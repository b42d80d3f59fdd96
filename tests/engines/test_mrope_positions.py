"""The slot cache's cells and positions with M-RoPE images (Qwen-VL): an image of N
tokens advances the position by its n_pos, every cut is made at a position, and a cut
never falls inside an image. The calls to llama.cpp are recorded here (a fast check of
the arithmetic); tests/engines/test_qwen2vl_engine.py runs the real model."""

from __future__ import annotations

from typing import Any

from assistant.engines.llamacpp_cache import KvCache


class Recorder:
    """llama.cpp's memory calls, recorded; every cut succeeds."""

    def __init__(self) -> None:
        self.cuts: list[int] = []

    def llama_get_memory(self, ctx: Any) -> None:
        return None

    def llama_memory_seq_rm(self, mem: Any, seq: int, p0: int, p1: int) -> bool:
        self.cuts.append(p0)
        return True


def _cache() -> tuple[KvCache, Recorder]:
    lib = Recorder()
    kv = KvCache(lib, None, n_ctx=4096, n_batch=512, n_swa=0, batch=object())  # type: ignore[arg-type]
    return kv, lib


IMAGE = [-5] * 12  # 12 image tokens (a 4 x 3 grid of merged patches): 4 positions


def test_positions_advance_by_the_image_s_n_pos() -> None:
    kv, _lib = _cache()
    kv.tokens.extend([1, 2, 3])
    assert kv.next_pos == 3
    kv.add_image(IMAGE, 4)
    assert len(kv) == 15 and kv.next_pos == 7
    kv.tokens.extend([7, 8])
    assert kv.pos(15) == 7 and kv.pos(17) == 9 and kv.pos(3) == 3
    kv.add_image([-6] * 6, 3)
    assert kv.next_pos == 12 and len(kv) == 23
    # an image whose tokens are its positions (Gemma 3) is not remembered: nothing to map
    kv.add_image([-7] * 4, 4)
    assert kv.next_pos == 16 and kv._images == [(3, 15, 4), (17, 23, 3)]


def test_cuts_are_made_at_positions_and_never_inside_an_image() -> None:
    kv, lib = _cache()
    kv.tokens.extend([1, 2, 3])
    kv.add_image(IMAGE, 4)
    kv.tokens.extend([7, 8, 9])
    kv.trim(16)  # after the image and one text token
    assert lib.cuts == [8] and len(kv) == 16 and kv.next_pos == 8
    kv.trim(9)  # inside the image: the whole image goes
    assert lib.cuts == [8, 3] and kv.tokens == [1, 2, 3] and kv._images == [] and kv.next_pos == 3


def test_reuse_keeps_a_whole_image_and_cuts_at_its_position() -> None:
    kv, lib = _cache()
    kv.tokens.extend([1, 2, 3])
    kv.add_image(IMAGE, 4)
    kv.tokens.extend([7, 8])
    # the same image, then other text: the prefix reaches past the image
    assert kv.reuse_prefix([1, 2, 3, *IMAGE, 7, 99]) == 16
    assert lib.cuts == [8] and kv.next_pos == 8
    # another image in its place: its first token differs, so the cut is at the image's start
    assert kv.reuse_prefix([1, 2, 3, *([-9] * 12), 7]) == 3
    assert lib.cuts == [8, 3] and kv._images == [] and kv.next_pos == 3

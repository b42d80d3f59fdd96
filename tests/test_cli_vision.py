"""`assistant ask --image` in a real subprocess: a copy of the test model with the tiny
projector beside it (libmtmd, the real engine) reads the picture; a text-only model says
it cannot see, before anything is answered; a picture that is not one is named."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import support.image_files as imgs
from support.tiny_mmproj import N_IMAGE_TOKENS, mmproj_path


def _vision_model(folder: Path, gemma_path: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "gemma-vision-Q4_K_M.gguf"
    try:  # a file of its own there (the CLI resolves a symlink to the model's own folder)
        os.link(gemma_path, model)
    except OSError:
        shutil.copyfile(gemma_path, model)
    (folder / "mmproj-gemma-vision-f16.gguf").symlink_to(mmproj_path())
    return model


def test_ask_with_an_image(run_cli, gemma_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    model = _vision_model(tmp_path / "vision", gemma_path)
    pic = imgs.write_png(tmp_path / "dog.png", imgs.noise(6))
    plain = run_cli("ask", "--model", str(model), "--max-tokens", "2", "--json", "What is this?")
    seen = run_cli("ask", "--model", str(model), "--max-tokens", "2", "--json", "--image", str(pic), "What is this?")
    assert plain.returncode == 0 and seen.returncode == 0, seen.stderr
    n_plain = json.loads(plain.stdout.strip().splitlines()[-1])["prompt_tokens"]
    n_seen = json.loads(seen.stdout.strip().splitlines()[-1])["prompt_tokens"]
    assert n_seen >= n_plain + N_IMAGE_TOKENS  # the image's tokens went into the prompt
    # 20,000 x 20,000 pixels: a 4,096-pixel copy is kept and read, and stderr says so
    poster = tmp_path / "poster.png"
    imgs.write_poster(poster)
    big = run_cli("ask", "--model", str(model), "--max-tokens", "2", "--json", "--image", str(poster), "What is this?")
    assert big.returncode == 0, big.stderr
    assert "poster.png: Scaled down from 20,000 × 20,000 to 4,096 × 4,096 pixels to be read." in big.stderr
    assert json.loads(big.stdout.strip().splitlines()[-1])["prompt_tokens"] == n_seen


def test_a_text_only_model_and_a_bad_picture_are_said(run_cli, gemma_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pic = imgs.write_png(tmp_path / "dog.png", imgs.noise(6))
    r = run_cli("ask", "--model", str(gemma_path), "--max-tokens", "2", "--image", str(pic), "What is this?")
    assert r.returncode != 0 and "cannot see images" in r.stderr
    junk = tmp_path / "notes.png"
    junk.write_text("not a picture")
    r = run_cli("ask", "--model", str(gemma_path), "--max-tokens", "2", "--image", str(junk), "What is this?")
    assert r.returncode != 0 and "notes.png is not an image" in r.stderr

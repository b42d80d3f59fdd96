"""The fuzz targets (tests/fuzz/targets.py) for as long as you like, on demand.

Each input is a kept one (tests/fuzz/corpus/<target>/) changed a few times over: bytes
flipped, cut, repeated or spliced from another kept input, counts and lengths set to the
numbers that break readers, and pieces of the format itself put in (Jinja tags, JSON keys,
thinking tags). Uncaught exceptions other than AssistantError, and broken properties,
are counted per kind and where they were raised; the inputs that found them are written
to --out, to be looked at and kept in the corpus (tests/fuzz/test_fuzz.py then replays
them in every test run).

    .venv/bin/python tools/fuzz.py                         # every target, 1,000,000 inputs each
    .venv/bin/python tools/fuzz.py gguf_header --inputs 50000 --seed 7
    .venv/bin/python tools/fuzz.py --seconds 300 --jobs 2  # at most 5 minutes a target, 2 processes

Fixed seeds: the same command tries the same inputs. The last lines are the figures per
target: inputs tried, uncaught exceptions, inputs a second.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import random
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "fuzz")]

import targets  # noqa: E402

_NUMBERS = [0, 1, 2, 7, 8, 31, 32, 63, 64, 255, 256, 4096, 65535, 65536, 2**31 - 1, 2**31, 2**32 - 1, 2**32,
            2**40, 2**62, 2**63 - 1, 2**63, 2**64 - 1]
_TOKENS = {
    "chat_template": ["{%", "%}", "{{", "}}", " for x in ", " endfor ", " if ", " endif ", " set ns.x = ", " macro f(n) ",
                      " endmacro ", "range(100000)", "|join", "|list", "|sort", "|wordwrap", "|replace('a','bb')",
                      "|center(99999999)", "'x' * 9999999", " ~ ", "namespace(x=1)", "loop.index", "messages[0].content",
                      "raise_exception('x')", ".__class__", ".__globals__", "{% break %}", "f(n+1)", "'%099999999d' % 1"],
    "settings_file": ['"model_settings"', '"generation"', '"stop"', '"extra_models"', '"cloud"', '"server"', '"port"',
                      '"private_servers"', '"theme"', '"font_size"', "null", "true", "NaN", "-Infinity", "1e999", "[",
                      "]", "{", "}", ",", ":", '"x"', "-1", "0", "99999999999999999999"],
    "api_request": ['"messages"', '"model"', '"fuzz-model"', '"role"', '"user"', '"content"', '"stream"', "true",
                    '"max_tokens"', '"stop"', '"prompt"', '"system"', '"type"', '"text"', '"image_url"', "null", "[",
                    "]", "{", "}", ",", ":", "-1", "1e400", '"\\u0000"', '"\\ud800"'],
    "thinking_stream": ["<think>", "</think>", "[THINK]", "[/THINK]", "<|channel>", "<channel|>", "thought", "<|channel|>",
                        "<|message|>", "<|end|>", "<|start|>", "<|return|>", "final", "analysis", "|", "<", ">", "\x00"],
    "gguf_header": ["GGUF", "general.architecture", "general.alignment", "llama.block_count", "expert_count",
                    "tokenizer.chat_template"],
}


class Mutator:
    def __init__(self, name: str, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seeds = targets.corpus(name) or [b""]
        self.tokens = [t.encode() for t in _TOKENS.get(name, [])]

    def next(self) -> bytes:
        rng = self.rng
        b = bytearray(rng.choice(self.seeds))
        for _ in range(rng.randint(1, 8)):
            op = rng.randrange(8)
            pos = rng.randint(0, len(b))
            if op == 0 and b:  # flip a bit
                i = rng.randrange(len(b))
                b[i] ^= 1 << rng.randrange(8)
            elif op == 1 and b:  # a random byte
                b[rng.randrange(len(b))] = rng.randrange(256)
            elif op == 2:  # cut a run
                del b[pos:pos + rng.randint(1, 64)]
            elif op == 3:  # repeat a run
                run = b[pos:pos + rng.randint(1, 32)]
                b[pos:pos] = run * rng.randint(1, 8)
            elif op == 4:  # a number that breaks readers, as 1, 4 or 8 bytes
                size = rng.choice((1, 4, 8))
                b[pos:pos + size] = (rng.choice(_NUMBERS) % (1 << (8 * size))).to_bytes(size, "little")
            elif op == 5 and self.tokens:  # a piece of the format
                b[pos:pos] = rng.choice(self.tokens)
            elif op == 6:  # splice another kept input
                other = rng.choice(self.seeds)
                cut = rng.randint(0, len(other))
                b = b[:pos] + bytearray(other[cut:cut + rng.randint(1, 256)])
            else:  # random bytes
                b[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        return bytes(b[:1 << 20])


def run_target(name: str, inputs: int, seconds: float | None, seed: int, out: Path) -> dict[str, object]:
    fn = targets.TARGETS[name]
    mutator = Mutator(name, seed)
    found: Counter[str] = Counter()
    t0 = time.monotonic()
    n = 0
    while n < inputs and (seconds is None or time.monotonic() - t0 < seconds):
        data = mutator.next()
        n += 1
        try:
            fn(data)
        except targets.ALLOWED:
            pass
        except BaseException as exc:  # a finding: counted once per kind and place
            if isinstance(exc, KeyboardInterrupt):
                raise
            where = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
            if not found[key]:
                folder = out / name
                folder.mkdir(parents=True, exist_ok=True)
                (folder / (hashlib.sha1(data).hexdigest()[:16] + ".bin")).write_bytes(data)
                print(f"  {name}: {key}: {str(exc)[:200]}", flush=True)
            found[key] += 1
    took = time.monotonic() - t0
    return {"target": name, "inputs": n, "uncaught": sum(found.values()), "kinds": dict(found), "seconds": took}


def _job(args: tuple[str, int, float | None, int, Path]) -> dict[str, object]:
    return run_target(*args)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="*", help=f"some of: {', '.join(targets.TARGETS)} (default: all)")
    ap.add_argument("--inputs", type=int, default=1_000_000, help="inputs per target (default 1,000,000)")
    ap.add_argument("--seconds", type=float, help="at most this long per target")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=1, help="processes per target, each with its own seed")
    ap.add_argument("--out", type=Path, default=Path("/tmp/fuzz-findings"), help="where the inputs of findings go")
    args = ap.parse_args()
    names = args.targets or list(targets.TARGETS)
    rows = []
    for name in names:
        per_job = -(-args.inputs // args.jobs)
        work = [(name, per_job, args.seconds, args.seed * 1000 + j, args.out) for j in range(args.jobs)]
        if args.jobs == 1:
            parts = [_job(work[0])]
        else:
            with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
                parts = pool.map(_job, work)
        kinds: Counter[str] = Counter()
        for p in parts:
            kinds.update(p["kinds"])  # type: ignore[arg-type]
        n = sum(int(p["inputs"]) for p in parts)  # type: ignore[call-overload]
        secs = max(float(p["seconds"]) for p in parts)  # type: ignore[arg-type]
        rows.append((name, n, sum(kinds.values()), secs, kinds))
        print(f"{name}: {n:,} inputs, {sum(kinds.values())} uncaught, {secs:.0f} s ({n / max(secs, 1e-9):,.0f}/s)", flush=True)
    print("\ntarget            inputs   uncaught   inputs/s")
    for name, n, bad, secs, kinds in rows:
        print(f"{name:16} {n:>9,} {bad:>9}   {n / max(secs, 1e-9):>8,.0f}" + (f"   {dict(kinds)}" if kinds else ""))
    return 1 if any(r[2] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())

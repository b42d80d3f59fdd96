"""The answer loop of the llama.cpp engine, on llama-cpp-python's low-level API.

Why not `Llama.create_completion`: its per-token path does Python work we do not need
(re-detokenizing the whole completion for stop checks, bookkeeping arrays). Here each
step is one llama_decode, llama.cpp's own sampler chain (llamacpp_sampling.py), and one
token_to_piece, so Python adds almost nothing per token (bench/engine_throughput.py).

With prompt lookup (engines/llamacpp_draft.py) a step may decode the next token and a
draft of up to ten after it in one batch. The sampler then picks a token at each
position in turn, exactly as it would one step at a time (same chain, same random
draws, one per answer token); the draft's tokens are kept while they equal the picks,
and the cache is cut back after the first one that does not.
"""

from __future__ import annotations

import codecs
import threading
import time
from typing import Any, Iterator

from assistant.core.types import Chunk, GenParams, Timings, Usage
from assistant.engines.llamacpp_cache import KvCache
from assistant.engines.llamacpp_draft import DRAFT_MAX, PromptLookup
from assistant.engines.llamacpp_sampling import Sampler
from assistant.engines.stops import StopMatcher
from assistant.engines.thinking import ThinkingStream
from assistant.errors import EngineError


class DraftBatch:
    """A reusable llama_batch with logits for every token (a draft's check)."""

    def __init__(self, lib: Any, size: int) -> None:
        self._lib = lib
        self.batch = lib.llama_batch_init(size, 0, 1)

    def fill(self, tokens: list[int], pos0: int) -> Any:
        b = self.batch
        for i, t in enumerate(tokens):
            b.token[i] = t
            b.pos[i] = pos0 + i
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = 0
            b.logits[i] = 1
        b.n_tokens = len(tokens)
        return b

    def free(self) -> None:
        self._lib.llama_batch_free(self.batch)


def generate(
    engine: Any, kv: KvCache, tokens: list[int], params: GenParams, cancel: threading.Event, t0: float,
    split: ThinkingStream, prompt_lookup: str,
) -> Iterator[Chunk]:
    lib, vocab, ctx = engine._lib, engine._vocab, engine._ctx
    cached = kv.reuse_prefix(tokens)
    usage = Usage(prompt_tokens=len(tokens), cached_tokens=cached)
    timings = Timings()
    sampler = Sampler(lib, ctx, vocab, params)
    lookup = PromptLookup(tokens) if prompt_lookup != "off" else None
    drafts = DraftBatch(lib, DRAFT_MAX + 1) if lookup is not None else None
    engine.last_lookup = lookup
    try:
        finish = "cancelled"
        if not kv.evaluate(tokens[cached:], cancel):
            timings.total_s = timings.prompt_s = time.perf_counter() - t0
            yield Chunk(done=True, finish_reason="cancelled", usage=usage, timings=timings)
            return
        timings.prompt_s = time.perf_counter() - t0
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        stops = StopMatcher(params.stop)
        buf, buf_len = engine._piece_buf, 256
        one = (lib.llama_token * 1)()
        markers = engine._marker_ids
        t_first = 0.0
        n_out = steps = 0
        n_ctx = kv.n_ctx
        record = kv.tokens
        sample, is_eog, to_piece, decode, batch_one = (
            sampler.sample, lib.llama_vocab_is_eog, lib.llama_token_to_piece,
            lib.llama_decode, lib.llama_batch_get_one,
        )
        # picked tokens not yet shown; all but the last are already in the cache (a kept draft)
        queue = [sample(-1)]
        while True:
            if cancel.is_set():
                finish = "cancelled"
                break
            tok = queue.pop(0)
            if is_eog(vocab, tok):
                finish = "stop"
                break
            n_out += 1
            if n_out == 1:
                t_first = time.perf_counter()
                timings.ttft_s = t_first - t0
            # thinking tags that are special tokens ([THINK], harmony's) are rendered for the splitter
            n = to_piece(vocab, tok, buf, buf_len, 0, tok in markers)
            text = decoder.decode(buf.raw[:n]) if n > 0 else ""
            text = stops.feed(text)
            piece = split.feed(text) if text else None
            if piece is not None:
                yield piece
            if stops.stopped:
                finish = "stop"
                break
            if n_out >= params.max_tokens or len(record) + 1 >= n_ctx:
                finish = "length"
                break
            if lookup is not None:
                lookup.add(tok)
            if queue:
                continue  # tok came from a kept draft: its K/V are in the cache
            room = min(params.max_tokens - n_out, n_ctx - len(record) - 2)
            draft = lookup.draft(room) if lookup is not None else []
            if draft:
                assert drafts is not None and lookup is not None
                pos0 = len(record)
                steps += 1
                if decode(ctx, drafts.fill([tok, *draft], pos0)) != 0:
                    kv.clear(wipe=True)
                    raise EngineError("llama.cpp failed while generating.", "Try again, or start a new chat.")
                record.append(tok)
                record.extend(draft)
                kept = 0
                pick = sample(0)
                while kept < len(draft) and pick == draft[kept]:
                    kept += 1
                    pick = sample(kept)
                kv.trim(pos0 + 1 + kept)
                record = kv.tokens
                lookup.result(len(draft), kept)
                queue = [*draft[:kept], pick]
                continue
            one[0] = tok
            steps += 1
            if decode(ctx, batch_one(one, 1)) != 0:
                kv.clear(wipe=True)
                raise EngineError("llama.cpp failed while generating.", "Try again, or start a new chat.")
            record.append(tok)
            queue.append(sample(-1))
        tail = decoder.decode(b"", final=True)
        tail = stops.feed(tail) + stops.flush()
        for piece in (split.feed(tail) if tail else None, split.flush()):
            if piece is not None:
                yield piece
        end = time.perf_counter()
        usage.completion_tokens = n_out
        timings.total_s = end - t0
        timings.decode_s = end - t_first if n_out else 0.0
        if lookup is not None:
            timings.decode_steps = steps
        yield Chunk(done=True, finish_reason=finish, usage=usage, timings=timings)  # type: ignore[arg-type]
    finally:
        sampler.free()
        if drafts is not None:
            drafts.free()

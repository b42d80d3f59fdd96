"""The answer loop of the llama.cpp engine: one loop over sequences (continuous batching).

The context has N slots (llama.cpp sequences, `n_seq_max`, one unified KV cache that
they share, as llama-server's default). Each answer is a `Sequence` (llamacpp_seq.py)
with its own sampler chain, stop strings and prompt lookup; each slot keeps its own
cache record (llamacpp_cache.py: prefix reuse, SWA checkpoints), so a chat that comes
back finds its slot's prefix. A step is one llama_decode that carries the next token of
every running sequence and, in the room left in the batch, the prompt of sequences
that joined since; a new answer joins at the next step, and a stopped one leaves at
the next step while the others go on.

Why not `Llama.create_completion`: its per-token path does Python work we do not need
(re-detokenizing the whole completion for stop checks, bookkeeping arrays). Here each
step is one llama_decode, llama.cpp's own sampler chain (llamacpp_sampling.py), and one
token_to_piece per sequence, so Python adds almost nothing per token
(bench/engine_throughput.py).

A sequence running alone keeps the single-stream paths: its prompt is evaluated with
Stop inside the batch (the abort callback), and with prompt lookup
(llamacpp_draft.py) a step may decode its next token and a draft of up to ten after
it in one batch. The sampler then picks a token at each position in turn, exactly as
it would one step at a time (same chain, same random draws, one per answer token); the
draft's tokens are kept while they equal the picks, and the cache is cut back after the
first one that does not. With several sequences running, drafts wait: a batch of one
token per sequence already fills the step (llama-server drafts per slot; on a CPU the
batch is the better use of a pass over the weights).

Who drives it: an in-process caller of `LlamaCppEngine.stream_chat` steps it while it
reads; the engine's process (host_child.py) steps it between taking requests off the pipe.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Iterator

from assistant.core.types import Chunk, GenParams
from assistant.engines.base import reusable_prefix
from assistant.engines.llamacpp_cache import KvCache, KvFullError, TokenBatch
from assistant.engines.llamacpp_draft import DRAFT_MAX, PromptLookup
from assistant.engines.llamacpp_sampling import Sampler
from assistant.engines.llamacpp_seq import Sequence
from assistant.engines.thinking import ThinkingStream
from assistant.errors import EngineError

DEFAULT_SLOTS = 4  # llama-server's default (-np auto), LM Studio's 4 parallel predictions

_DECODE_FAILED = ("llama.cpp failed while generating.", "Try again, or start a new chat.")


class DraftBatch:
    """A reusable llama_batch with logits for every token (a draft's check)."""

    def __init__(self, lib: Any, size: int, n_seq: int = 1) -> None:
        self._tb = TokenBatch(lib, size, n_seq)
        self.batch = self._tb.batch

    def fill(self, tokens: list[int], pos0: int, seq: int = 0) -> Any:
        tb = self._tb
        tb.clear()
        for i, t in enumerate(tokens):
            tb.add(t, pos0 + i, seq, True)
        return tb.batch

    def free(self) -> None:
        self._tb.free()


class AnswerLoop:
    """The slots of one context and the sequences running in them."""

    def __init__(self, engine: Any, n_ctx: int, n_batch: int, n_swa: int, n_slots: int) -> None:
        self.engine = engine
        lib = self._lib = engine._lib
        self._ctx = engine._ctx
        self.n_ctx, self.n_batch = n_ctx, n_batch
        self.batch = TokenBatch(lib, max(n_batch, n_slots + DRAFT_MAX + 1), n_slots)
        self.slots = [KvCache(lib, self._ctx, n_ctx, n_batch, n_swa, seq=i, batch=self.batch) for i in range(n_slots)]
        for kv in self.slots:
            kv.on_wipe = self._forget_all
        self._used = [0.0] * n_slots  # when each slot last served: the least recent is reused first
        self._busy: dict[int, Sequence] = {}  # slot -> its running sequence
        self.waiting: deque[Sequence] = deque()  # no slot free yet, or not placed yet
        self._drafts = DraftBatch(lib, DRAFT_MAX + 1, n_slots)

    @property
    def n_slots(self) -> int:
        return len(self.slots)

    @property
    def idle(self) -> bool:
        return not self._busy and not self.waiting

    @property
    def running(self) -> list[Sequence]:
        return list(self._busy.values())

    def free(self) -> None:
        for seq in [*self._busy.values(), *self.waiting]:
            seq.free()
        self._busy.clear()
        self.waiting.clear()
        self.batch.free()
        self._drafts.free()

    def _forget_all(self) -> None:
        for kv in self.slots:
            kv.forget()

    def clear(self) -> None:
        """Forget every slot's cache (a new start; tests and benchmarks)."""
        for kv in self.slots:
            kv.clear()

    # -- joining ------------------------------------------------------------------------
    def start(self, rid: int, tokens: list[int], params: GenParams, cancel: threading.Event, split: ThinkingStream,
              t0: float, lookup: str, images: list[Any] | None = None) -> Sequence:
        """A new answer; it gets a slot at the next step (or when one is free). Its sampler
        is made here, once: a grammar that does not parse is a GrammarError to the caller
        now, never a failed step."""
        seq = Sequence(rid, tokens, params, cancel, split, t0, lookup, images or [])
        seq.sampler = Sampler(self._lib, self._ctx, self.engine._vocab, params)
        self.waiting.append(seq)
        return seq

    def _place(self) -> None:
        """Give waiting sequences a slot: the free slot that holds the longest prefix of
        the prompt, else an empty one, else the least recently used."""
        while self.waiting:
            seq = self.waiting[0]
            if seq.cancel.is_set():
                self.waiting.popleft()
                seq.end("cancelled")
                seq.free()
                continue
            free = [i for i in range(self.n_slots) if i not in self._busy]
            if not free:
                return
            self.waiting.popleft()

            def score(i: int) -> tuple[int, int, float]:
                kv = self.slots[i]
                return (reusable_prefix(kv.tokens, seq.tokens), not kv.tokens, -self._used[i])

            slot = max(free, key=score)
            self._seat(seq, slot)

    def _seat(self, seq: Sequence, slot: int) -> None:
        kv = seq.kv = self.slots[slot]
        self._busy[slot] = seq
        seq.fed = kv.reuse_prefix(seq.tokens)
        inside = seq.image_around(seq.fed)
        if inside is not None:  # an image is read whole: back to its start
            kv.trim(inside.start)
            seq.fed = len(kv.tokens)
        seq.usage.cached_tokens = seq.fed
        # no prompt-lookup drafts under a grammar: every pick then runs the grammar over the
        # whole vocabulary (llamacpp_sampling.py), a check of ten drafted tokens costs ten of
        # those, and JSON built from a schema seldom repeats the prompt to be drafted from
        drafts = seq.lookup_mode != "off" and seq.params.grammar is None
        seq.lookup = PromptLookup(seq.tokens) if drafts else None
        self.engine.last_lookup = seq.lookup

    def _leave(self, slot: int) -> None:
        seq = self._busy.pop(slot)
        self._used[slot] = time.monotonic()
        seq.free()

    # -- one step ---------------------------------------------------------------------------
    def step(self) -> None:
        """One llama_decode for every running sequence (or a lone prompt / draft check)."""
        for slot, seq in list(self._busy.items()):
            if seq.cancel.is_set():
                seq.end("cancelled")
            if seq.over:
                self._leave(slot)
        self._place()
        if not self._busy:
            return
        running = list(self._busy.items())
        draining = [q for _s, q in running if q.queue]
        if draining:  # a draft's kept tokens: no decode until they are shown
            for seq in draining:
                self._drain(seq)
            self._leave_over()
            return
        prefill = [(s, q) for s, q in running if q.prefilling]
        if len(running) == 1 and prefill:
            self._prefill_alone(*prefill[0])
        elif len(running) == 1 and running[0][1].lookup is not None and self._draft_step(running[0][1]):
            pass
        else:
            self._batch_step(running)
        self._leave_over()

    def _leave_over(self) -> None:
        for slot, seq in list(self._busy.items()):
            if seq.over:
                self._leave(slot)

    def _room(self, seq: Sequence) -> int:
        """Positions left once the next token is in the cache."""
        assert seq.kv is not None
        return self.n_ctx - len(seq.kv.tokens) - 1

    def _first_token(self, seq: Sequence, idx: int) -> None:
        seq.timings.prompt_s = time.perf_counter() - seq.t0
        assert seq.kv is not None and seq.sampler is not None
        if seq.kv.n_swa > 0:
            seq.kv.save_checkpoint()
        self._pick(seq, idx)

    def _pick(self, seq: Sequence, idx: int) -> None:
        assert seq.sampler is not None
        tok = seq.sampler.sample(idx)
        if seq.params.logprobs is not None:
            seq.note_logprobs(seq.sampler.logits(idx), tok, self.engine)
        seq.accept(tok, self.engine, self._room(seq))

    def _prefill_alone(self, slot: int, seq: Sequence) -> None:
        """A prompt with no other sequence running: in batches, Stop inside each."""
        kv = seq.kv
        assert kv is not None
        try:
            done = self._feed(seq)
        except KvFullError:
            done = self._evaluate_after_eviction(slot, seq)
        except EngineError as exc:
            seq.end("error", exc)
            return
        if not done:
            seq.end("cancelled")
            return
        seq.fed = len(seq.tokens)
        self._first_token(seq, -1)

    def _feed(self, seq: Sequence) -> bool:
        """The rest of a prompt into its slot: runs of text in batches, images whole."""
        kv = seq.kv
        assert kv is not None
        while seq.fed < len(seq.tokens):
            if not self._feed_image(seq):
                end = seq.text_end(seq.fed)
                if not kv.evaluate(seq.tokens[seq.fed:end], seq.cancel):
                    return False
                seq.fed = end
            if seq.cancel.is_set():
                return False
        return True

    def _feed_image(self, seq: Sequence) -> bool:
        """The image starting where the prompt's prefill is, if one does: encoded by the
        projector and decoded into the slot (KvFullError when there is no room)."""
        span = seq.image_at(seq.fed)
        if span is None:
            return False
        kv, vision = seq.kv, self.engine.vision
        assert kv is not None and vision is not None
        rc = vision.evaluate(self._lib, self._ctx, span, kv.next_pos, kv.seq, self.n_batch)
        if rc != 0:  # no room: what the image got into the cache goes
            self._lib.llama_memory_seq_rm(self._lib.llama_get_memory(self._ctx), kv.seq, kv.next_pos, -1)
            raise KvFullError(len(kv.tokens) + len(span.tokens))
        kv.add_image(span.tokens, span.n_pos)
        seq.fed = span.end
        return True

    def _evaluate_after_eviction(self, slot: int, seq: Sequence) -> bool:
        self._evict(keep=slot)
        assert seq.kv is not None
        try:
            seq.fed = len(seq.kv.tokens)
            return self._feed(seq)
        except KvFullError:
            seq.end("error", self._full_error())
            return False

    def _evict(self, keep: int) -> bool:
        """Free the cells of slots with no running sequence (their cached prefixes)."""
        freed = False
        for i, kv in enumerate(self.slots):
            if i != keep and i not in self._busy and kv.tokens:
                kv.clear()
                freed = True
        return freed

    def _full_error(self) -> EngineError:
        return EngineError(
            f"The model's context ({self.n_ctx} tokens) is shared by the answers running at once, and it is full.",
            "Try again when the other answers have finished, or raise the context length in the model's settings.",
        )

    def _draft_step(self, seq: Sequence) -> bool:
        """A lone sequence's next token and a prompt-lookup draft, checked in one batch.
        False when there is no draft (a plain step follows)."""
        kv, lookup, sampler = seq.kv, seq.lookup, seq.sampler
        assert kv is not None and lookup is not None and sampler is not None
        room = min(seq.params.max_tokens - seq.n_out, self.n_ctx - len(kv.tokens) - 2)
        draft = lookup.draft(room)
        if not draft:
            return False
        tok = seq.next_token
        pos0 = len(kv.tokens)
        seq.steps += 1
        if self._lib.llama_decode(self._ctx, self._drafts.fill([tok, *draft], kv.next_pos, kv.seq)) != 0:
            self._failed(kv)
            return True
        kv.tokens.append(tok)
        kv.tokens.extend(draft)
        picks = []
        pick = sampler.sample(0)
        picks.append(pick)
        kept = 0
        while kept < len(draft) and pick == draft[kept]:
            kept += 1
            pick = sampler.sample(kept)
            picks.append(pick)
        kv.trim(pos0 + 1 + kept)
        lookup.result(len(draft), kept)
        # shown one a step, as if decoded one at a time: a Stop between them is kept to
        for i, t in enumerate(picks):
            lp = seq.logprob_of(sampler.logits(i), t, self.engine) if seq.params.logprobs is not None else None
            at = pos0 + 1 + i if i < kept else -1  # where a kept token sits in the cache
            seq.queue.append((t, at, self.n_ctx - (pos0 + 1 + i) - 1, lp))
        self._drain(seq)
        return True

    def _drain(self, seq: Sequence) -> None:
        """Show the next token picked by a draft's check (a kept one is in the cache)."""
        tok, at, room, lp = seq.queue.pop(0)
        if seq.cancel.is_set():
            seq.end("cancelled")
        else:
            if lp is not None:
                seq.add_logprob(lp)
            if seq.accept(tok, self.engine, room):
                return
        seq.queue.clear()
        if at >= 0:
            assert seq.kv is not None
            seq.kv.trim(at)  # the answer ended at a kept token: the cache ends before it

    def _batch_step(self, running: list[tuple[int, Sequence]]) -> None:
        """The next token of every decoding sequence and as much prompt as fits."""
        batch, lib = self.batch, self._lib
        batch.clear()
        decoding: list[tuple[Sequence, int]] = []
        for _slot, seq in running:
            if not seq.prefilling:
                assert seq.kv is not None
                decoding.append((seq, batch.add(seq.next_token, seq.kv.next_pos, seq.kv.seq, True)))
        budget = self.n_batch - batch.n
        filling: list[tuple[Sequence, int, int]] = []  # sequence, tokens added, index of the last
        for _slot, seq in running:
            if seq.prefilling and seq.images and not self._images_first(seq):
                continue
            if seq.prefilling and budget > 0:
                assert seq.kv is not None
                part = seq.tokens[seq.fed: min(seq.fed + budget, seq.text_end(seq.fed))]
                pos0 = seq.kv.next_pos
                last = seq.fed + len(part) == len(seq.tokens)
                idx = -1
                for i, t in enumerate(part):
                    idx = batch.add(t, pos0 + i, seq.kv.seq, last and i == len(part) - 1)
                filling.append((seq, len(part), idx))
                budget -= len(part)
        rc = lib.llama_decode(self._ctx, batch.batch)
        if rc == 1 and self._evict(keep=-1):
            rc = lib.llama_decode(self._ctx, batch.batch)
        if rc == 1:
            # still no room: the newest prompt waits out (or fails when nothing else runs)
            if filling and decoding:
                seq = filling[-1][0]
                seq.end("error", self._full_error())
                return
            victim = (filling[-1][0] if filling else decoding[-1][0])
            victim.end("error", self._full_error())
            return
        if rc != 0:
            self._failed(running[0][1].kv)
            return
        for seq, idx in decoding:
            assert seq.kv is not None
            seq.kv.tokens.append(seq.next_token)
            seq.steps += 1
            self._pick(seq, idx)
        for seq, n, idx in filling:
            assert seq.kv is not None
            seq.kv.tokens.extend(seq.tokens[seq.fed: seq.fed + n])
            seq.fed += n
            if seq.fed == len(seq.tokens):
                self._first_token(seq, idx)

    def _images_first(self, seq: Sequence) -> bool:
        """Beside other answers, a prompt's image at its prefill point is read on its own
        before the shared batch (an image is decoded whole). False when the answer ended."""
        try:
            while self._feed_image(seq):
                pass
        except KvFullError:
            if not (self._evict(keep=-1) and self._retry_image(seq)):
                seq.end("error", self._full_error())
                return False
        except EngineError as exc:
            seq.end("error", exc)
            return False
        return True

    def _retry_image(self, seq: Sequence) -> bool:
        try:
            while self._feed_image(seq):
                pass
            return True
        except KvFullError:
            return False

    def _failed(self, kv: KvCache | None) -> None:
        """A decode failed: the cache may hold NaN; every running answer fails."""
        if kv is not None:
            kv.clear(wipe=True)
        for seq in self._busy.values():
            seq.end("error", EngineError(*_DECODE_FAILED))

    # -- an in-process reader -------------------------------------------------------------------
    def run(self, seq: Sequence) -> Iterator[Chunk]:
        """Step the loop until `seq` is over, yielding its chunks (a caller that is the
        loop's only driver: tests, benchmarks, the engine used in-process)."""
        try:
            while True:
                if not seq.over:
                    self.step()
                for chunk in seq.take():
                    yield chunk
                if seq.over:
                    if seq.error is not None:
                        raise seq.error
                    return
        finally:
            if not seq.over:
                seq.cancel.set()
                self.step()  # it leaves its slot

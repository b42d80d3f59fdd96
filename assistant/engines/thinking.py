"""Thinking apart from the answer, for every reasoning family, over a token stream.

Families, told from the model's chat template:
- `<think>…</think>`: Qwen3, QwQ, DeepSeek-R1 and its distills, SmolLM3, Qwen3.5. Some
  templates open the block in the generation prompt (QwQ, R1, Qwen3.5): the model then
  writes only the thinking and `</think>`.
- `[THINK]…[/THINK]`: Mistral's reasoning models (Magistral, Ministral 3 Reasoning).
- `<|channel>thought…<channel|>`: Gemma 4.
- harmony (gpt-oss): `<|channel|>analysis<|message|>…<|end|><|start|>assistant<|channel|>final<|message|>…`;
  every channel but `final` is thinking, except a message addressed to one of the tools
  (`to=functions.NAME` in its role or channel header): that is a tool call, and reaches
  the answer as `<|channel|>commentary to=functions.NAME<|message|>ARGS<|call|>` (one
  form whichever header named the recipient), which the harmony tool format
  (assistant/tools/formats/harmony.py) reads.

Tags may arrive split across tokens (`</`, `think`, `>`): text that could be the start
of a tag is held back until the next piece decides it, as stops.py does for stop strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.core.types import Chunk


@dataclass(frozen=True)
class ThinkFormat:
    name: str  # think / mistral / gemma4 / harmony
    open: str
    close: str


THINK = ThinkFormat("think", "<think>", "</think>")
MISTRAL = ThinkFormat("mistral", "[THINK]", "[/THINK]")
# the block opens with the special token <|channel> (the splitter's tag) and the channel name
GEMMA4 = ThinkFormat("gemma4", "<|channel>", "<channel|>")
_GEMMA4_CHANNEL = "thought"
HARMONY = ThinkFormat("harmony", "<|channel|>", "<|end|>")
# how a harmony tool call reaches the answer (the tool format's call section starts so)
HARMONY_CALL_OPEN = "<|channel|>commentary to=functions."
HARMONY_CALL_CLOSE = "<|call|>"
_HARMONY_RECIPIENT = re.compile(r"to=functions\.([^\s<]+)")
HARMONY_MARKERS = ("<|start|>", "<|channel|>", "<|message|>", "<|end|>", "<|return|>", "<|call|>", "<|constrain|>")


def detect_format(template: str | None) -> ThinkFormat | None:
    """The thinking family a template is written for, or None for a model that does not think."""
    if not template:
        return None
    if "<|channel|>" in template and "<|message|>" in template:
        return HARMONY
    if "[THINK]" in template:
        return MISTRAL
    if "<|channel>" in template and "<channel|>" in template:
        return GEMMA4
    if "<think>" in template or "</think>" in template:
        return THINK
    return None


def thinking_control(template: str | None) -> str | None:
    """What the user may set: "toggle" (enable_thinking), "effort" (gpt-oss's
    reasoning_effort), or None (the model thinks as it likes, or not at all)."""
    if not template or detect_format(template) is None:
        return None
    if "reasoning_effort" in template:
        return "effort"
    if "enable_thinking" in template:
        return "toggle"
    return None


def template_variables(control: str | None, setting: str | None) -> dict[str, object]:
    """The template variables for a Thinking setting ("on", "off", "low"...); none when unset."""
    if control == "toggle" and setting in ("on", "off"):
        return {"enable_thinking": setting == "on"}
    if control == "effort" and setting in ("low", "medium", "high"):
        return {"reasoning_effort": setting}
    return {}


def marker_texts(fmt: ThinkFormat | None) -> tuple[str, ...]:
    """Tag texts the engines must render even when they are special tokens."""
    if fmt is None:
        return THINK.open, THINK.close
    if fmt is HARMONY:
        return HARMONY_MARKERS
    return fmt.open, fmt.close


def opens_thinking(prompt: str, fmt: ThinkFormat | None) -> bool:
    """Whether the generation prompt leaves a thinking block open (the model writes inside it)."""
    if fmt is None or fmt is HARMONY:
        return False
    tail = prompt.rstrip()
    return tail.endswith(fmt.open) or (fmt is GEMMA4 and tail.endswith(fmt.open + _GEMMA4_CHANNEL))


def prefill(fmt: ThinkFormat | None, prompt: str, thinking: str, answer: str = "") -> str:
    """What to append to the prompt to continue a cut-off answer: its thinking so far,
    and its answer so far when it had got that far (the model writes on from there)."""
    fmt = fmt or THINK
    nl = "" if fmt is MISTRAL else "\n"
    if fmt is HARMONY:
        out = "<|channel|>analysis<|message|>" + thinking if thinking else ""
        if answer:
            out += ("<|end|><|start|>assistant" if thinking else "") + "<|channel|>final<|message|>" + answer
        return out
    opened = opens_thinking(prompt, fmt)
    if fmt is GEMMA4 and not opened:
        fmt = ThinkFormat("gemma4", GEMMA4.open + _GEMMA4_CHANNEL, GEMMA4.close)
    if not thinking:
        return (fmt.close + "\n\n" if opened else "") + answer
    out = (("" if prompt[-1:].isspace() else nl) if opened else fmt.open + nl) + thinking
    return out + (nl + fmt.close + "\n\n" + answer if answer else "")


class _Scanner:
    """Splits a stream into text and markers, holding back a tail that may begin a marker."""

    def __init__(self, markers: tuple[str, ...]) -> None:
        self.markers = tuple(m for m in markers if m)
        self.held = ""

    def feed(self, text: str) -> list[tuple[str, bool]]:
        buf = self.held + text
        out: list[tuple[str, bool]] = []
        while buf:
            hits = [(i, m) for m in self.markers if (i := buf.find(m)) >= 0]
            if hits:
                i, m = min(hits, key=lambda h: (h[0], -len(h[1])))
                if i:
                    out.append((buf[:i], False))
                out.append((m, True))
                buf = buf[i + len(m):]
                continue
            keep = 0
            for m in self.markers:
                for n in range(min(len(m) - 1, len(buf)), 0, -1):
                    if buf.endswith(m[:n]):
                        keep = max(keep, n)
                        break
            if len(buf) > keep:
                out.append((buf[: len(buf) - keep], False))
            buf = buf[len(buf) - keep:]
            break
        self.held = buf
        return out

    def flush(self) -> str:
        held, self.held = self.held, ""
        return held


class ThinkingSplitter:
    """Feed the model's raw text; get (thinking, answer) pieces back."""

    def __init__(self, fmt: ThinkFormat | None, *, start_thinking: bool = False, start_answer: bool = False) -> None:
        self.fmt = fmt or THINK
        self._harmony = self.fmt is HARMONY
        self._scan = _Scanner(marker_texts(self.fmt))
        # tags: start (a block may open) / thinking / answer;  harmony: start / header / channel / body / idle
        self.state = "thinking" if start_thinking else "answer" if start_answer else "start"
        self._channel = ""
        self._header = ""  # harmony: the role header's text (" to=functions.NAME"), or its possible start
        self._named = False  # Gemma 4: the block's channel name was taken off
        self._lead = not start_answer  # strip the whitespace a block starts with
        if self._harmony and (start_thinking or start_answer):
            self.state, self._channel = "body", "final" if start_answer else "analysis"
        self.saw_answer = False
        self.saw_thinking = False

    @property
    def thinking_now(self) -> bool:
        if self._harmony:
            return self.state in ("body", "channel", "header") and self._channel not in ("final", "call") and self.saw_thinking
        return self.state == "thinking"

    def feed(self, text: str) -> tuple[str, str]:
        if self.state == "answer" and not self._lead and not self._harmony and not self._scan.held:
            self.saw_answer |= bool(text)
            return "", text  # past the thinking: nothing more to look for (the per-token fast path)
        thinking: list[str] = []
        answer: list[str] = []
        for piece, marker in self._scan.feed(text):
            self._step(piece, marker, thinking, answer)
        return self._out(thinking, answer)

    def flush(self) -> tuple[str, str]:
        thinking: list[str] = []
        answer: list[str] = []
        rest = self._scan.flush()
        if self._harmony and self.state in ("start", "idle") and self._header:
            # a held " to" that no header followed: text outside any message, the answer
            rest, self._header = self._header + rest, ""
            self.state, self._channel, self._lead = "body", "final", True
        if not self._harmony and self._channel:  # a held channel name that never completed
            # (the whitespace a block starts with is dropped, as it is when the name is decided)
            rest, self._channel, self._lead = (self._channel + rest).lstrip(), "", False
        if rest:
            if self.state == "start":
                self.state = "answer" if not self._harmony else "body"
                self._channel = "final"
            self._step(rest, False, thinking, answer)
        return self._out(thinking, answer)

    def _out(self, thinking: list[str], answer: list[str]) -> tuple[str, str]:
        t, a = "".join(thinking), "".join(answer)
        self.saw_thinking |= bool(t)
        self.saw_answer |= bool(a)
        return t, a

    def _emit(self, text: str, sink: list[str], new_block: bool = False) -> None:
        if new_block:
            self._lead = True
        if self._lead:
            text = text.lstrip()
            if not text:
                return
            self._lead = False
        sink.append(text)

    def _step(self, piece: str, marker: bool, thinking: list[str], answer: list[str]) -> None:
        if self._harmony:
            self._harmony_step(piece, marker, thinking, answer)
            return
        fmt = self.fmt
        if self.state == "start":
            if marker and piece == fmt.open:
                self.state = "thinking"
                self._lead = True
                self._named = False
                return
            if not marker and not piece.strip():
                return  # whitespace before a possible block
            self.state = "answer"
            self._lead = True
        if self.state == "thinking":
            if marker and piece == fmt.close:
                if self._channel:  # the block closed on a partial channel name: it was thinking text
                    self._emit(self._channel, thinking)
                    self._channel = ""
                self.state = "answer"
                self._lead = True
                return
            if fmt is GEMMA4 and self._lead and not self._named:
                piece = self._channel + piece  # the channel name may come in pieces: "th", "ought"
                name = piece.lstrip()  # (whitespace alone is not the start of the name: it is dropped)
                if name and _GEMMA4_CHANNEL.startswith(name) and len(name) < len(_GEMMA4_CHANNEL):
                    self._channel = piece
                    return
                self._channel = ""
                self._named = bool(name)  # decided: the name is taken off once, never from the thinking
                piece = name.removeprefix(_GEMMA4_CHANNEL)
            self._emit(piece, thinking)
            return
        self._emit(piece, answer)

    def _harmony_step(self, piece: str, marker: bool, thinking: list[str], answer: list[str]) -> None:
        if marker:
            if piece == "<|channel|>":
                self.state, self._channel = "channel", ""
            elif piece == "<|message|>":
                self.state = "body"
                call = _HARMONY_RECIPIENT.search(self._header + " " + self._channel)
                self._channel = self._channel.strip().split(" ")[0] or "final"
                self._header, self._lead = "", True
                if call:  # a tool call: the answer gets it in one form (see the module's docstring)
                    self._channel = "call"
                    answer.append(f"{HARMONY_CALL_OPEN}{call.group(1)}<|message|>")
            elif piece == "<|start|>":
                self.state, self._header = "header", ""
            elif piece in ("<|end|>", "<|return|>", "<|call|>"):
                if self.state == "body" and self._channel == "call":
                    answer.append(HARMONY_CALL_CLOSE)
                self.state, self._header = "idle", ""
            return  # <|constrain|>: part of the channel header
        if self.state == "channel":
            self._channel += piece
        elif self.state == "header":
            self._header += piece  # "assistant", or "assistant to=functions.NAME"
        elif self.state == "body":
            self._emit(piece, answer if self._channel in ("final", "call") else thinking)
        elif self.state in ("start", "idle"):
            # a role header's recipient right after the prompt's "<|start|>assistant":
            # " to=functions.NAME<|channel|>…" (held while it may still be one)
            text = self._header + piece
            head = text.lstrip()
            if head and (head.startswith("to=") or "to=".startswith(head)):
                self._header = text
                if head.startswith("to="):
                    self.state = "header"
                return
            self._header = ""
            if head:
                # text outside any message: the model skipped the format; it is the answer
                self.state, self._channel = "body", "final"
                self._emit(text, answer, new_block=True)


class ThinkingStream:
    """A splitter that makes Chunks: what the engines wrap their text in."""

    def __init__(self, fmt: ThinkFormat | None, *, start_thinking: bool = False, start_answer: bool = False) -> None:
        self.splitter = ThinkingSplitter(fmt, start_thinking=start_thinking, start_answer=start_answer)

    def feed(self, text: str) -> Chunk | None:
        thinking, answer = self.splitter.feed(text)
        return Chunk(text=answer, thinking=thinking) if thinking or answer else None

    def flush(self) -> Chunk | None:
        thinking, answer = self.splitter.flush()
        return Chunk(text=answer, thinking=thinking) if thinking or answer else None

    @property
    def thinking_now(self) -> bool:
        return self.splitter.thinking_now

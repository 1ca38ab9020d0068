"""The one mechanism that splits ``<think>…</think>`` from the answer.

Every backend feeds its raw text through :class:`ThinkSplitter`, whole or in stream
chunks; a tag split across chunks is held back until it is complete.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "EARLY_STOP_SENTENCE",
    "THINK_CLOSE",
    "THINK_CLOSE_ID",
    "THINK_OPEN",
    "THINK_OPEN_ID",
    "ThinkSplitter",
    "split_thinking",
]

THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
# Token ids in the Qwen3 vocabulary.
THINK_OPEN_ID = 151667
THINK_CLOSE_ID = 151668
# Qwen's documented early-stop text for a thought cut at its budget (two-pass method).
EARLY_STOP_SENTENCE = (
    "Considering the limited time by the user, I have to give the solution "
    "based on the thinking directly now."
)


@dataclass
class ThinkSplitter:
    """Incremental splitter.

    ``in_thinking=True`` starts inside a thought: for templates that already opened
    ``<think>`` in the prompt (Qwen3 *-Thinking-2507*, or a forced continuation).
    """

    in_thinking: bool = False
    closed: bool = False
    opened: bool = False
    _pending: str = ""
    _seen_answer: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.opened = self.in_thinking

    def feed(self, text: str) -> tuple[str, str]:
        """Consume ``text``; return ``(thinking, answer)`` that is safe to emit now."""
        buf = self._pending + text
        self._pending = ""
        thinking: list[str] = []
        answer: list[str] = []
        while buf:
            if self.in_thinking:
                idx = buf.find(THINK_CLOSE)
                if idx >= 0:
                    thinking.append(buf[:idx])
                    buf = buf[idx + len(THINK_CLOSE) :]
                    self.in_thinking = False
                    self.closed = True
                    continue
                keep = _partial_suffix(buf, THINK_CLOSE)
                thinking.append(buf[: len(buf) - keep])
                self._pending = buf[len(buf) - keep :]
                break
            if not self._seen_answer and not self.closed:
                stripped = buf.lstrip()
                if stripped.startswith(THINK_OPEN):
                    buf = stripped[len(THINK_OPEN) :]
                    self.in_thinking = self.opened = True
                    continue
                if THINK_OPEN.startswith(stripped):  # maybe the start of a tag
                    self._pending = buf
                    break
                # A model whose template opened <think> may emit only </think>.
                idx = buf.find(THINK_CLOSE)
                if idx >= 0 and THINK_OPEN not in buf[:idx]:
                    thinking.append(buf[:idx])
                    buf = buf[idx + len(THINK_CLOSE) :]
                    self.closed = self.opened = True
                    continue
                keep = _partial_suffix(buf, THINK_CLOSE)
                if keep:
                    answer.append(buf[: len(buf) - keep])
                    self._pending = buf[len(buf) - keep :]
                    if buf[: len(buf) - keep].strip():
                        self._seen_answer = True
                    break
            answer.append(buf)
            if buf.strip():
                self._seen_answer = True
            buf = ""
        out_answer = "".join(answer)
        if self.closed and not self._seen_answer:
            out_answer = out_answer.lstrip()
        return "".join(thinking), out_answer

    def flush(self) -> tuple[str, str]:
        """Emit whatever was held back at the end of the stream."""
        rest, self._pending = self._pending, ""
        if self.in_thinking:
            return rest, ""
        return "", rest


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of ``tag``."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


def split_thinking(text: str, *, in_thinking: bool = False) -> tuple[str | None, str]:
    """Split a complete response into ``(thinking or None, answer)``."""
    splitter = ThinkSplitter(in_thinking=in_thinking)
    thinking, answer = splitter.feed(text)
    t_rest, a_rest = splitter.flush()
    thinking += t_rest
    answer += a_rest
    if not splitter.opened:
        return None, answer
    return thinking.strip("\n"), answer.strip()

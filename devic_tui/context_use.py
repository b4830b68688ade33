"""How full a chat's context is: the tokens its next request will carry (the branch on screen and the
system prompt) against the model's window, as the status line's meter shows it (`ctx 12.4k/32k 39%`).

The count is the server's own where it reported one: the last answer's input and output tokens are
what the next request carries before the new message. Where it did not (or messages came after that
answer), the rest is estimated and the figure is marked `~`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from devic_tui.context_meter import ContextWindow, estimate_tokens
from devic_tui.models import ChatSettings
from devic_tui.records import StoredMessage

MeterLevel = Literal["low", "half", "high"]
HALF, HIGH = 0.5, 0.8
"""From these fractions of the window on, the meter shows the warning colour, then the error colour."""


def compact(tokens: int) -> str:
    """A token count in a few characters: 950, 12.4k, 32k, 1.2M."""
    if tokens < 1000:
        return str(tokens)
    for size, unit in ((1_000_000, "M"), (1000, "k")):
        if tokens >= size:
            value = tokens / size
            text = f"{value:.1f}" if value < 100 else f"{value:.0f}"
            return text.removesuffix(".0") + unit
    return str(tokens)  # pragma: no cover


def compact_window(tokens: int) -> str:
    """A window size as models are named: 32768 is 32k, 131072 is 128k; others as `compact`."""
    return f"{tokens // 1024}k" if tokens >= 1024 and tokens % 1024 == 0 else compact(tokens)


class ContextUse(BaseModel):
    """The tokens a chat's next request carries, whether they are estimated, and the window."""

    model_config = ConfigDict(frozen=True)

    tokens: int
    estimated: bool
    window: ContextWindow

    @property
    def fraction(self) -> float | None:
        return self.tokens / self.window.tokens if self.window.tokens else None

    @property
    def level(self) -> MeterLevel:
        fraction = self.fraction or 0.0
        return "high" if fraction >= HIGH else "half" if fraction >= HALF else "low"

    def over_with(self, text: str) -> bool:
        """Whether sending `text` as the next message takes the request past the window."""
        return self.window.tokens is not None and self.tokens + estimate_tokens(text) > self.window.tokens

    @property
    def label(self) -> str:
        count = ("~" if self.estimated else "") + compact(self.tokens)
        if self.window.tokens is None:
            return f"ctx {count}/?"
        return f"ctx {count}/{compact_window(self.window.tokens)} {self.fraction or 0:.0%}"


def context_use(
    branch: Sequence[StoredMessage], settings: ChatSettings | None, window: ContextWindow
) -> ContextUse:
    """What the next request after `branch` (oldest first) carries, counted as the module says."""
    estimated = False
    tokens = 0
    start = 0
    for index in range(len(branch) - 1, -1, -1):
        usage = branch[index].usage
        if branch[index].is_copy:
            continue  # its figures are of the chat it was copied from
        if usage is not None and usage.input_tokens is not None and usage.output_tokens is not None:
            tokens, start = usage.input_tokens + usage.output_tokens, index + 1
            break
    else:
        if settings is not None and settings.system_prompt:
            tokens, estimated = estimate_tokens(settings.system_prompt), True
    for message in branch[start:]:
        if message.content:
            tokens += estimate_tokens(message.content)
            estimated = True
    return ContextUse(tokens=tokens, estimated=estimated, window=window)

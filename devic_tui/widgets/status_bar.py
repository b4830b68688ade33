"""The status line under the composer: the stream's state (waiting, streaming N tokens, elapsed,
done, failed), the server's usage figures, short notices, and at its end the chat's context meter
(in the theme's warning colour from half full, its error colour from 80 %) and the server's tightest
limit when little of it is left. A refusal for a limit counts down to when it resets."""

from __future__ import annotations

from datetime import UTC, datetime
from time import monotonic

from textual.content import Content
from textual.timer import Timer
from textual.widgets import Static

from devic_tui.context_use import ContextUse
from devic_tui.models import Usage
from devic_tui.text_safety import one_line


class StatusBar(Static):
    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self._state = "ready"
        self._detail = ""
        self._chars = 0
        self._started: float | None = None
        self._usage: Usage | None = None
        self._usage_unreported = False
        self._timer: Timer | None = None
        self._meter: ContextUse | None = None
        self._limit: str | None = None
        self._retry_at: datetime | None = None
        self._countdown: Timer | None = None

    def on_mount(self) -> None:
        self._timer = self.set_interval(0.25, self._redraw, pause=True)
        self._countdown = self.set_interval(1.0, self._tick, pause=True)
        self._redraw()

    def set_meter(self, meter: ContextUse | None) -> None:
        if meter != self._meter:
            self._meter = meter
            self._redraw()

    def set_limit(self, text: str | None) -> None:
        """The server's tightest limit, in words, while little of it is left (None: hide it)."""
        if text != self._limit:
            self._limit = text
            self._redraw()

    def count_down_to(self, moment: datetime) -> None:
        """A send was refused for a limit: say, second by second, when it resets."""
        self._retry_at = moment
        if self._countdown:
            self._countdown.resume()
        self._redraw()

    def _tick(self) -> None:
        if self._retry_at is not None and self._retry_at <= datetime.now(UTC):
            self._retry_at = None
            self._detail = "the limit has reset: send again"
            if self._countdown:
                self._countdown.pause()
        self._redraw()

    def begin(self, detail: str = "waiting for the server") -> None:
        self._state, self._detail, self._chars, self._usage = "waiting", detail, 0, None
        self._usage_unreported = False
        self._retry_at = None
        self._started = monotonic()
        if self._timer:
            self._timer.resume()
        self._redraw()

    def progress(self, chars: int, detail: str | None = None) -> None:
        """Called per chunk: only a change of state or detail redraws now; the count shows on
        the next tick of the timer (four times a second)."""
        self._chars = chars
        changed = detail is not None and detail != self._detail
        if chars and self._state != "streaming":
            self._state, changed = "streaming", True
        if detail is not None:
            self._detail = detail
        if changed:
            self._redraw()

    def set_usage(self, usage: Usage) -> None:
        if usage != self._usage:
            self._usage = usage
            self._redraw()

    def usage_unreported(self) -> None:
        """The server answered without saying what the answer cost (so no figure is not a zero)."""
        self._usage_unreported = True
        self._redraw()

    def end(self, state: str, detail: str = "") -> None:
        self._state, self._detail = state, detail
        if self._timer:
            self._timer.pause()
        self._redraw()

    def clear(self, text: str = "") -> None:
        """Ready, with no figures of an earlier answer (another branch is on screen, say)."""
        self._chars, self._started, self._usage = 0, None, None
        self._usage_unreported = False
        self.end("ready", text)

    def say(self, text: str) -> None:
        self._state, self._detail = "ready", text
        self._redraw()

    def _redraw(self) -> None:
        self._detail = one_line(self._detail)
        styles = {
            "failed": "bold $text-error",
            "stopped": "bold $text-warning",
            "interrupted": "bold $text-warning",
            "done": "bold $text-success",
        }
        parts: list[str | tuple[str, str]] = [(f" {self._state} ", styles.get(self._state, "bold"))]
        if self._state in ("waiting", "streaming") and self._detail:
            parts.append(f" {self._detail}")
        if self._chars:
            parts.append(f"  ~{max(1, self._chars // 4):,} tokens")
        if self._started is not None and self._state in ("waiting", "streaming", "done"):
            parts.append(f"  {monotonic() - self._started:0.1f} s")
        if self._usage and self._usage.total is not None:
            figures = [f"{self._usage.total:,} tokens"]
            if self._usage.input_tokens is not None and self._usage.output_tokens is not None:
                figures.append(f"in {self._usage.input_tokens:,} / out {self._usage.output_tokens:,}")
            parts.append(("  usage: " + ", ".join(figures), "$text-muted"))
        elif self._usage_unreported:
            parts.append(("  usage not reported", "$text-muted"))
        if self._retry_at is not None:
            left = max(0, int((self._retry_at - datetime.now(UTC)).total_seconds()))
            parts.append((f"  limit reached: resets in {left // 60}:{left % 60:02d}", "bold $text-warning"))
        elif self._state not in ("waiting", "streaming") and self._detail:
            parts.append(f"  {self._detail}")
        if self._limit:
            parts.append((f"  {one_line(self._limit)}", "$text-warning"))
        if self._meter is not None and (self._meter.tokens or self._meter.window.known):
            parts.append((f"  {self._meter.label}", _METER_STYLES[self._meter.level]))
        self.update(Content.assemble(*parts))


_METER_STYLES = {"low": "$text-muted", "half": "$text-warning", "high": "bold $text-error"}

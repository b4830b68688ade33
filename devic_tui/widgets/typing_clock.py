"""When the person last typed, for what redraws itself on a timer (the answer being written) to give
way to keys: a key is painted in the next frame, and that frame is cheap when the answer does not
move in it too. One clock per process: there is one keyboard."""

from __future__ import annotations

import time


class TypingClock:
    def __init__(self) -> None:
        self._last = -1e9

    def typed(self) -> None:
        self._last = time.monotonic()

    def since(self) -> float:
        """Seconds since the last key typed into a composer."""
        return time.monotonic() - self._last


TYPING = TypingClock()

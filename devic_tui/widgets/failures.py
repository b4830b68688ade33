"""Failed work, handed up to the one place that tells the person. Textual tells only the node that
ran a worker when the worker fails (the message does not bubble); every screen and widget that runs
workers, and the app itself, mixes in `HandsUpFailures`, which passes the failure on as a
`WorkFailed` message that does bubble, to the app's one handler. Workers are started with
`exit_on_error=False`, so a failure is a notice, never the end of the app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerState


@dataclass
class WorkFailed(Message):
    """A worker failed; `error` is why."""

    error: BaseException
    work: str


class HandsUpFailures:
    """Mixed into a widget or screen that runs workers."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state == WorkerState.ERROR and worker.error is not None:
            cast(MessagePump, self).post_message(WorkFailed(worker.error, worker.name))

"""Unexpected worker failures, carried to the app's one error handler.

``Worker.StateChanged`` is posted to the node that owns the worker and does not bubble, so
the app never heard of a failure in a widget's or a screen's worker: the reply just stayed
on "connecting" forever. Nodes that run workers mix this in.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.worker import Worker, WorkerState


@dataclass
class WorkerFailed(Message):
    """A worker raised an exception nobody expected."""

    error: BaseException


class ReportsWorkerErrors:
    """Forward a failed worker's exception, as a bubbling message, to the app."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.post_message(WorkerFailed(event.worker.error))  # type: ignore[attr-defined]

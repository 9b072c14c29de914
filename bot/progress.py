"""A progress bar on stderr for long fetches and analyses (rich), drawn only on a terminal."""

from __future__ import annotations

from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

_STAGE_NAMES = {"fetch": "Fetching commits", "analyze": "Analysing commits"}


class RichProgress:
    """ProgressReporter drawing one bar per stage; stages with nothing to do draw nothing."""

    def __init__(self, stream: IO[str]) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}
        self._started = False

    def start(self, stage: str, total: int) -> None:
        if total <= 0:
            return
        if not self._started:
            self._progress.start()
            self._started = True
        self._tasks[stage] = self._progress.add_task(_STAGE_NAMES.get(stage, stage), total=total)

    def advance(self, stage: str, amount: int = 1) -> None:
        task = self._tasks.get(stage)
        if task is not None:
            self._progress.advance(task, amount)

    def finish(self, stage: str) -> None:
        task = self._tasks.pop(stage, None)
        if task is not None:
            self._progress.remove_task(task)
        if self._started and not self._tasks:
            self._progress.stop()
            self._started = False

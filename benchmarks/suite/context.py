"""What every suite gets: the run's options, the timing budget, progress bars, shared work."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.measure import FULL, QUICK, Budget, repeat
from models.session import RuntimeOptions


class SuiteSkipped(Exception):
    """A suite (or part of one) cannot run here; the message says why."""


@dataclass
class Context:
    """Options of one ``ekyc bench run`` and the state its suites share."""

    quick: bool = False
    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    threads: int = 1
    pairs: tuple[Path, ...] = ()
    workdir: Path = Path(".")
    progress: Any = None  # a rich Progress, or None (no bars)
    memo: dict[str, Any] = field(default_factory=dict)

    @property
    def budget(self) -> Budget:
        """How long to time one call (``--quick``: a few runs, well under a second)."""
        return QUICK if self.quick else FULL

    def runtime(self, threads: int | None = None) -> RuntimeOptions:
        """ONNX Runtime options of the run (``threads`` overrides the intra-op count)."""
        return RuntimeOptions(
            providers=self.providers, intra_threads=threads or self.threads, inter_threads=1
        )

    def pick(self, quick: int, full: int) -> int:
        """A count: ``quick`` under ``--quick``, else ``full``."""
        return quick if self.quick else full

    def shared(self, key: str, make: Callable[[], Any]) -> Any:
        """Work two suites need (e.g. the tamper pairs: timed by compare, counted by
        accuracy), done once per run."""
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]

    @contextlib.contextmanager
    def track(self, description: str, total: int | None) -> Iterator[Callable[[int], None]]:
        """A progress bar for a step; yields ``advance(n)``."""
        progress = self.progress
        if progress is None:

            def nothing(n: int = 1) -> None:
                return None

            yield nothing
            return
        task = progress.add_task(description, total=total)

        def advance(n: int = 1) -> None:
            progress.advance(task, n)

        try:
            yield advance
        finally:
            progress.update(task, completed=total, visible=False)

    def time(self, label: str, fn: Callable[[], object], scale: float = 1.0) -> list[float]:
        """Time ``fn`` with the run's budget (``scale`` < 1 for slow calls), with a bar."""
        budget = self.budget.scaled(scale) if scale != 1.0 else self.budget
        with self.track(label, budget.max_runs) as advance:
            return repeat(fn, budget, tick=lambda: advance(1))

"""Many seeds, on every core: the search for a counterexample."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from sagakit.simulation.run import DEFAULTS, Mayhem, Options, Outcome, ScenarioFactory, simulate


@dataclass(frozen=True)
class SeedReport:
    """One seed's result; a failing one carries its violations and its trace, narrowed
    to the sagas the violations name."""

    seed: int
    violations: tuple[str, ...]
    trace: str
    counts: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.violations

    @classmethod
    def of(cls, outcome: Outcome) -> SeedReport:
        trace = "" if outcome.ok else outcome.trace.render(about=_named_sagas(outcome))
        return cls(outcome.seed, tuple(outcome.violations), trace, dict(outcome.counts))


@dataclass
class Search:
    runs: int = 0
    failures: list[SeedReport] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, report: SeedReport) -> None:
        self.runs += 1
        self.counts.update(report.counts)
        if not report.ok:
            self.failures.append(report)


@dataclass(frozen=True)
class _Job:
    make_scenario: ScenarioFactory
    options: Options
    mayhem: Mayhem | None

    def __call__(self, seed: int) -> SeedReport:
        return SeedReport.of(
            simulate(self.make_scenario, seed, mayhem=self.mayhem, options=self.options)
        )


def run_seeds(
    make_scenario: ScenarioFactory,
    seeds: Iterable[int],
    *,
    jobs: int = 1,
    options: Options = DEFAULTS,
    mayhem: Mayhem | None = None,
    on_report: Callable[[SeedReport], None] | None = None,
    stop_at_first_failure: bool = False,
) -> Search:
    """Simulate every seed (on ``jobs`` processes); ``on_report`` hears each one as it
    ends, in any order. ``make_scenario`` must be importable by name (a module-level
    class or function) to cross to the worker processes."""
    search = Search()
    job = _Job(make_scenario, options, mayhem)
    for report in _reports(job, seeds, jobs):
        search.add(report)
        if on_report is not None:
            on_report(report)
        if stop_at_first_failure and not report.ok:
            break
    return search


def _reports(job: _Job, seeds: Iterable[int], jobs: int) -> Iterator[SeedReport]:
    if jobs <= 1:
        yield from map(job, seeds)
        return
    # fork: the workers start with everything imported, and nothing to pickle but seeds
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        yield from pool.imap_unordered(job, seeds, chunksize=8)


def _named_sagas(outcome: Outcome) -> list[str]:
    text = "\n".join(outcome.violations)
    ids = {line.saga_id for line in outcome.trace.lines if line.saga_id}
    return sorted(saga_id for saga_id in ids if saga_id in text)

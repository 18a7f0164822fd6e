"""``checkout simulate``: search many seeds for a broken invariant, or replay one."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import timedelta

from checkout.common.answers import KeyRules
from checkout.progress_bars import progress_bar
from checkout.simulation.scenario import SIMULATED_KEYS, CheckoutScenario
from sagakit.simulation import Options, SeedReport, run_seeds, simulate

SHOWN_FAILURES = 3
OPTIONS = Options(lease=timedelta(seconds=10))
"""A lease a few step timeouts long, so that pauses end in takeovers often."""


def search(
    seeds: range,
    *,
    jobs: int,
    rules: KeyRules = SIMULATED_KEYS,
    show_progress: bool = True,
    echo: Callable[[str], None] = print,
) -> bool:
    """Simulate every seed; print each failure (violations, trace, how to replay) and a
    summary line. True when no seed broke an invariant."""
    make = functools.partial(CheckoutScenario, rules=rules)
    began = time.monotonic()
    with progress_bar(show=show_progress) as progress:
        task = progress.add_task("simulating seeds", total=len(seeds))

        def heard(report: SeedReport) -> None:
            progress.advance(task)
            if not report.ok:
                progress.update(task, description="simulating seeds (failures!)")

        found = run_seeds(make, seeds, jobs=jobs, options=OPTIONS, on_report=heard)
    for report in sorted(found.failures, key=lambda r: r.seed)[:SHOWN_FAILURES]:
        _show(report, echo)
    if len(found.failures) > SHOWN_FAILURES:
        others = sorted(r.seed for r in found.failures)[SHOWN_FAILURES:]
        echo(f"… and {len(others)} more failing seeds: {others[:50]}")
    counts = found.counts
    echo(
        f"simulate: {found.runs} seeds ({seeds.start}-{seeds.stop - 1}), {counts['sagas']} "
        f"sagas, {counts['crashes']} crashes, {counts['pauses']} pauses, "
        f"{counts['outages']} outages, {counts['late deliveries']} late deliveries, "
        f"{counts['refused as too late']} requests refused as too late, "
        f"{counts['aborts']} aborts, {counts['changes']} restocks, "
        f"{len(found.failures)} seeds with violations, in {time.monotonic() - began:.0f}s "
        f"on {jobs} processes"
    )
    return not found.failures


def replay(
    seed: int, *, rules: KeyRules = SIMULATED_KEYS, echo: Callable[[str], None] = print
) -> bool:
    """Run one seed and print its whole trace; True when it broke no invariant."""
    outcome = simulate(functools.partial(CheckoutScenario, rules=rules), seed, options=OPTIONS)
    echo(outcome.trace.render())
    for violation in outcome.violations:
        echo(f"violation: {violation}")
    echo(f"seed {seed}: {len(outcome.violations)} violations")
    return outcome.ok


def _show(report: SeedReport, echo: Callable[[str], None]) -> None:
    echo(f"seed {report.seed} broke the books:")
    for violation in report.violations:
        echo(f"  violation: {violation}")
    echo(report.trace)
    echo(f"replay it: checkout simulate --seed {report.seed}\n")

"""Deterministic simulation of sagas: search many seeded timings for a broken invariant.

In the spirit of FoundationDB's simulator and TigerBeetle's VOPR: the real engine runs
on a virtual clock against participant models (your own domain code, in process) over
a simulated network that delays, reorders, duplicates, loses and holds back messages,
while orchestrators crash, restart and pause. A seed fixes every random choice, so a
seed that breaks an invariant replays exactly, with a trace of what happened.

A scenario says what to simulate (see ``Scenario``)::

    outcome = simulate(MyScenario, seed=7)
    if not outcome.ok:
        print(outcome.violations, outcome.trace.render())
"""

from sagakit.simulation.http import SimulatedTransport
from sagakit.simulation.loop import SimulationStalled, VirtualTimeLoop
from sagakit.simulation.network import (
    CALM,
    Faults,
    Network,
    Participant,
    Reply,
    Request,
    Unreachable,
)
from sagakit.simulation.run import (
    Abort,
    Change,
    Event,
    Mayhem,
    Options,
    Outcome,
    Prepared,
    Scenario,
    ScenarioFactory,
    Send,
    Start,
    World,
    simulate,
)
from sagakit.simulation.seeds import SeedReport, run_seeds
from sagakit.simulation.trace import Trace

__all__ = [
    "CALM",
    "Abort",
    "Change",
    "Event",
    "Faults",
    "Mayhem",
    "Network",
    "Options",
    "Outcome",
    "Participant",
    "Prepared",
    "Reply",
    "Request",
    "Scenario",
    "ScenarioFactory",
    "SeedReport",
    "Send",
    "SimulatedTransport",
    "SimulationStalled",
    "Start",
    "Trace",
    "Unreachable",
    "VirtualTimeLoop",
    "World",
    "run_seeds",
    "simulate",
]

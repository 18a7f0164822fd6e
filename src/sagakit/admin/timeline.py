"""A saga's timeline as a picture: one bar per attempt on a shared time axis.

Rows run top to bottom in the order things happen: each step's forward attempts (and
its wait for an event, after its action, as a hatched bar),
then the compensations, last step first, as the engine undoes them. Retries are the
extra bars on a row; operators' retries and aborts are dashed vertical markers.
Geometry is computed here; ``templates/timeline.svg.html`` draws it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from sagakit.admin.schemas import AttemptOut, SagaDetail, WaitOut

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)

WIDTH = 960
LABEL_WIDTH = 190
ROW_HEIGHT = 30
AXIS_HEIGHT = 34
MIN_BAR_WIDTH = 4.0
TICKS = 5
RIGHT_MARGIN = 40
"""Room after the axis for the last tick's label and a retry's ``#n``."""


@dataclass(frozen=True, kw_only=True)
class Bar:
    x: float
    width: float
    step: str
    direction: str
    attempt: int
    status: str
    title: str


@dataclass(frozen=True, kw_only=True)
class Row:
    y: float
    label: str
    direction: str
    bars: tuple[Bar, ...]


@dataclass(frozen=True, kw_only=True)
class Marker:
    x: float
    label: str


@dataclass(frozen=True, kw_only=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, kw_only=True)
class Timeline:
    width: int
    height: int
    label_width: int
    axis_end: float
    axis_y: float
    rows: tuple[Row, ...]
    ticks: tuple[Tick, ...]
    markers: tuple[Marker, ...]


def layout_timeline(detail: SagaDetail, *, now: datetime, width: int = WIDTH) -> Timeline:
    """Place every attempt of ``detail``; an unfinished attempt extends to ``now``."""
    start = detail.created_at.timestamp()
    ends = [_end(a, now) for a in detail.attempts] + [e.at.timestamp() for e in detail.events]
    ends += [(w.ended_at or now).timestamp() for w in detail.waits]
    span = max([*ends, start + 0.001]) - start
    plot = width - LABEL_WIDTH - RIGHT_MARGIN

    def x_of(moment: float) -> float:
        return LABEL_WIDTH + (moment - start) / span * plot

    def bar(attempt: AttemptOut) -> Bar:
        left = x_of(attempt.started_at.timestamp())
        right = x_of(_end(attempt, now))
        return Bar(
            x=round(left, 1),
            width=round(max(right - left, MIN_BAR_WIDTH), 1),
            step=attempt.step,
            direction=attempt.direction,
            attempt=attempt.attempt,
            status=attempt.status,
            title=_describe(attempt),
        )

    def waited(wait: WaitOut) -> Bar:
        left = x_of(wait.started_at.timestamp())
        right = x_of((wait.ended_at or now).timestamp())
        ended = f", ended by its {wait.ended_by}" if wait.ended_by else ", waiting"
        took = ((wait.ended_at or now) - wait.started_at).total_seconds()
        return Bar(
            x=round(left, 1),
            width=round(max(right - left, MIN_BAR_WIDTH), 1),
            step=wait.step,
            direction="forward",
            attempt=0,
            status="waited" if wait.ended_by else "waiting",
            title=f"{wait.step} waited for {wait.event} {_seconds(took)}{ended}",
        )

    compensated = {a.step for a in detail.attempts if a.direction == "compensate"}
    order = [(step, "forward") for step in detail.steps] + [
        (step, "compensate") for step in reversed(detail.steps) if step in compensated
    ]
    rows = tuple(
        Row(
            y=AXIS_HEIGHT + index * ROW_HEIGHT,
            label=step if direction == "forward" else f"undo {step}",
            direction=direction,
            bars=tuple(
                bar(a) for a in detail.attempts if a.step == step and a.direction == direction
            )
            + tuple(waited(w) for w in detail.waits if w.step == step and direction == "forward"),
        )
        for index, (step, direction) in enumerate(order)
    )
    ticks = tuple(
        Tick(x=round(x_of(start + span * i / TICKS), 1), label=_seconds(span * i / TICKS))
        for i in range(TICKS + 1)
    )
    markers = tuple(
        Marker(x=round(x_of(e.at.timestamp()), 1), label=f"{e.kind} by {e.actor}")
        for e in detail.events
    )
    return Timeline(
        width=width,
        height=AXIS_HEIGHT + len(rows) * ROW_HEIGHT + 10,
        label_width=LABEL_WIDTH,
        axis_end=width - RIGHT_MARGIN,
        axis_y=AXIS_HEIGHT - 8,
        rows=rows,
        ticks=ticks,
        markers=markers,
    )


def _end(attempt: AttemptOut, now: datetime) -> float:
    return (attempt.finished_at or now).timestamp()


def _describe(attempt: AttemptOut) -> str:
    took = f" in {_seconds(attempt.duration_seconds)}" if attempt.duration_seconds else ""
    error = f": {attempt.error}" if attempt.error else ""
    return f"{attempt.step} {attempt.direction} #{attempt.attempt} {attempt.status}{took}{error}"


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def render_timeline(timeline: Timeline, *, saga_id: str) -> str:
    """The timeline as an SVG document."""
    return _templates.get_template("timeline.svg.html").render(t=timeline, saga_id=saga_id)

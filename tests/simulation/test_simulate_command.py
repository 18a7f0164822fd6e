"""``checkout simulate`` as a user runs it: a summary, and a replayable failure."""

from __future__ import annotations

from typer.testing import CliRunner

from checkout.cli import app


def test_a_clean_search_ends_with_its_figures_and_exit_0() -> None:
    result = CliRunner().invoke(app, ["simulate", "--seeds", "10", "--jobs", "1"])

    assert result.exit_code == 0, result.output
    assert "simulate: 10 seeds (0-9)" in result.output
    assert "0 seeds with violations" in result.output


def test_a_failing_seed_prints_its_violations_trace_and_replay_command() -> None:
    # A range where the search finds the control's violation today (seed 949).
    result = CliRunner().invoke(
        app,
        ["simulate", "--from", "900", "--seeds", "100", "--jobs", "2", "--unsafe-forget-refusals"],
    )

    assert result.exit_code == 1, result.output
    assert "violation: " in result.output
    replay = next(line for line in result.output.splitlines() if line.startswith("replay it:"))
    seed = replay.rsplit(" ", 1)[1]

    replayed = CliRunner().invoke(app, ["simulate", "--seed", seed, "--unsafe-forget-refusals"])

    assert replayed.exit_code == 1
    assert f"seed {seed}: " in replayed.output
    assert "healing" in replayed.output


def test_replaying_a_clean_seed_prints_its_trace_and_exits_0() -> None:
    result = CliRunner().invoke(app, ["simulate", "--seed", "4"])

    assert result.exit_code == 0, result.output
    assert "seed 4: 0 violations" in result.output
    assert "orch-1" in result.output

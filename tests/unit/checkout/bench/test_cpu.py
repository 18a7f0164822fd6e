import os
from pathlib import Path

import pytest

from checkout.bench import cpu

TICKS = os.sysconf("SC_CLK_TCK")


def fake_process(
    proc: Path,
    pid: int,
    comm: str,
    user_ticks: int,
    system_ticks: int,
    exited_children_ticks: tuple[int, int] = (0, 0),
) -> None:
    folder = proc / str(pid)
    folder.mkdir(parents=True)
    # Fields after the command: state, ppid, ... utime is the 14th field, stime the 15th,
    # then cutime and cstime (children that have exited).
    children = [str(ticks) for ticks in exited_children_ticks]
    rest = ["S"] + ["0"] * 10 + [str(user_ticks), str(system_ticks), *children] + ["0"] * 28
    (folder / "stat").write_text(f"{pid} ({comm}) {' '.join(rest)}\n")
    (folder / "comm").write_text(comm + "\n")


def test_cpu_seconds_add_user_and_system_time(tmp_path: Path) -> None:
    fake_process(tmp_path, 42, "python (bench) x", user_ticks=3 * TICKS, system_ticks=TICKS)

    assert cpu.cpu_seconds(42, tmp_path) == pytest.approx(4.0)


def test_a_process_that_is_gone_has_no_cpu_time(tmp_path: Path) -> None:
    assert cpu.cpu_seconds(42, tmp_path) is None


def test_postgres_time_is_the_sum_of_its_processes(tmp_path: Path) -> None:
    fake_process(tmp_path, 10, "postgres", user_ticks=TICKS, system_ticks=0)
    fake_process(tmp_path, 11, "postgres", user_ticks=0, system_ticks=2 * TICKS)
    fake_process(tmp_path, 12, "python", user_ticks=50 * TICKS, system_ticks=0)
    (tmp_path / "self").mkdir()

    assert cpu.postgres_seconds(tmp_path) == pytest.approx(3.0)


def test_postgres_time_keeps_the_backends_that_have_exited(tmp_path: Path) -> None:
    """A closed connection's backend is gone from /proc; its time is in the server's."""
    fake_process(tmp_path, 10, "postgres", TICKS, 0, exited_children_ticks=(2 * TICKS, TICKS))
    fake_process(tmp_path, 11, "postgres", TICKS, 0)

    assert cpu.postgres_seconds(tmp_path) == pytest.approx(5.0)


def test_a_process_own_time_leaves_out_its_exited_children(tmp_path: Path) -> None:
    fake_process(tmp_path, 42, "python", TICKS, 0, exited_children_ticks=(5 * TICKS, 0))

    assert cpu.cpu_seconds(42, tmp_path) == pytest.approx(1.0)


def test_this_process_has_spent_some_cpu() -> None:
    seconds = cpu.cpu_seconds(os.getpid())

    assert seconds is not None and seconds > 0


def test_per_order_divides_each_process_difference_by_the_orders() -> None:
    before = {"client": 1.0, "payment": 2.0, "gone": 1.0}
    after = {"client": 1.5, "payment": 3.0}

    assert cpu.per_order_ms(before, after, orders=100) == {"client": 5.0, "payment": 10.0}

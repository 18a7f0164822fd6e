"""A soak's rows and the comparisons its end prints, from made-up samples."""

from __future__ import annotations

from dataclasses import replace

import pytest

from checkout.bench.soak.report import ALL_FOUR, Sample, compare, header, percentile, row

MIB = 2**20


def sample(
    elapsed: float,
    *,
    latencies: tuple[float, ...] = (0.01,),
    finished: int = 100,
    database_bytes: int = 10 * MIB,
    rss: float = 100.0,
    connections: dict[str, int] | None = None,
    final: bool = False,
) -> Sample:
    return Sample(
        elapsed=elapsed,
        seconds=60.0,
        latencies=latencies,
        retried=0,
        finished=finished,
        rss_mib=dict.fromkeys(("orders", "payment", "inventory", "shipping"), rss),
        connections=connections,
        database_bytes=database_bytes,
        load=1.5,
        final=final,
    )


def test_a_percentile_takes_the_benchmarks_rank() -> None:
    latencies = [i / 1000 for i in range(1, 101)]  # 1 ms to 100 ms

    assert percentile(latencies, 50) == 0.051
    assert percentile(latencies, 99) == 0.1
    assert percentile([], 99) == 0.0


def test_a_row_gives_throughput_latency_and_bytes_per_finished_order() -> None:
    taken = sample(
        120.4,
        latencies=(0.010, 0.020, 0.030),
        finished=4096,
        database_bytes=4 * MIB,
        connections={"orders": 5, "payment": 2, "inventory": 2, "shipping": 1},
    )

    assert taken.throughput == pytest.approx(3 / 60)
    assert taken.bytes_per_order == 1024
    assert row(taken) == (
        "| 2:00 | 3 | 0.1 | 20.0 | 30.0 | 0 | 100.0 / 100.0 / 100.0 / 100.0 | 5 / 2 / 2 / 1 "
        "| 4.0 | 1,024 | 1.5 |"
    )


def test_a_row_says_na_for_connections_it_could_not_count() -> None:
    assert "| n/a |" in row(sample(60, connections=None))


def test_the_last_row_says_it_is_the_end() -> None:
    assert row(sample(1805, final=True)).startswith("| 30:05 (end) |")


def test_rows_are_a_markdown_table() -> None:
    columns = header()[0].count("|")

    assert header()[1].count("|") == columns
    assert row(sample(60, connections=None)).count("|") == columns


def test_the_database_size_compares_the_row_at_minute_ten_with_the_end() -> None:
    samples = [sample(60.0 * m, database_bytes=m * MIB) for m in range(1, 30)]
    samples.append(sample(1800.5, database_bytes=11 * MIB, final=True))

    comparison = compare(samples, baseline_seconds=600, shortened=False)

    assert comparison.size == (10 * MIB, 11 * MIB)
    assert comparison.as_json()["database_size_change"] == pytest.approx(0.1)


def test_the_baseline_is_the_first_row_at_or_after_it() -> None:
    samples = [sample(45.0 * n, database_bytes=n * MIB) for n in range(1, 5)]

    comparison = compare(samples, baseline_seconds=60, shortened=True)

    assert comparison.row_seconds == 90
    assert comparison.size[0] == 2 * MIB


def test_memory_compares_the_first_row_with_the_end_per_service_and_in_all() -> None:
    samples = [sample(60, rss=100.0), sample(120, rss=110.0), sample(180, rss=105.0, final=True)]

    comparison = compare(samples, baseline_seconds=60, shortened=True)

    assert comparison.memory["orders"] == (100.0, 105.0)
    assert comparison.memory[ALL_FOUR] == (400.0, 420.0)


def test_p99_compares_every_order_up_to_the_baseline_with_the_last_interval() -> None:
    samples = [
        sample(60, latencies=(0.010,) * 97 + (0.500,) * 3),  # the slowest 1% of the first 200
        sample(120, latencies=(0.020,) * 100),
        sample(180, latencies=(0.900,) * 100),  # after the baseline: not in it
        sample(200, latencies=(0.030,) * 100, final=True),
    ]

    comparison = compare(samples, baseline_seconds=120, shortened=True)

    assert comparison.p99 == (0.5, 0.03)
    assert comparison.as_json()["p99_change"] == pytest.approx(0.03 / 0.5 - 1)


def test_a_short_soak_says_its_first_third_stands_in_for_ten_minutes() -> None:
    samples = [sample(60), sample(120), sample(180, final=True)]

    lines = compare(samples, baseline_seconds=60, shortened=True).lines()

    assert "first third stands in for the first 10 minutes" in lines[0]
    assert lines[1].startswith("Database size, the first third (to the row at 1:00) → end:")
    assert "(+0.0%)" in lines[1]


def test_a_long_soak_compares_from_minute_ten() -> None:
    samples = [sample(60.0 * m) for m in range(1, 31)]

    lines = compare(samples, baseline_seconds=600, shortened=False).lines()

    assert lines[0].startswith("Database size, minute 10 → end:")
    assert lines[2].startswith("p99 of POST /orders, the first 10 minutes → the last interval:")


def with_tables(taken: Sample, tables: dict[str, int]) -> Sample:
    return replace(taken, tables=tables)


def test_tables_compare_the_baseline_row_with_the_end_per_order_finished_between() -> None:
    samples = [
        sample(60, finished=1000),
        with_tables(
            sample(120, finished=2000),
            {"orders.sagakit_attempts": 4 * MIB, "payment.payments": 1 * MIB},
        ),
        with_tables(
            sample(180, finished=3024, final=True),
            {"orders.sagakit_attempts": 4 * MIB, "payment.payments": 2 * MIB},
        ),
    ]

    comparison = compare(samples, baseline_seconds=120, shortened=True)

    assert comparison.tables == {
        "orders.sagakit_attempts": (4 * MIB, 4 * MIB),
        "payment.payments": (1 * MIB, 2 * MIB),
    }
    assert comparison.orders_between == 1024
    lines = comparison.lines()
    assert any(
        line.startswith("Tables retention prunes") and "4.0 → 4.0 MiB (+0.0%), 0 bytes" in line
        for line in lines
    )
    assert any(
        line.startswith("Tables kept for good") and "1.0 → 2.0 MiB (+100.0%), 1,024 bytes" in line
        for line in lines
    )
    assert "| orders.sagakit_attempts (pruned) | 4.0 | 4.0 | 0 |" in lines
    assert "| payment.payments | 1.0 | 2.0 | 1,024 |" in lines


def test_small_tables_are_left_out_of_the_breakdown_unless_retention_prunes_them() -> None:
    tables = {"orders.alembic_version": 8192, "payment.answers": 8192, "shipping.shipments": MIB}
    samples = [with_tables(sample(60), tables), with_tables(sample(120, final=True), tables)]

    lines = compare(samples, baseline_seconds=60, shortened=True).lines()

    assert not any("alembic_version" in line for line in lines)
    assert any(line.startswith("| payment.answers (pruned) |") for line in lines)


def test_without_table_sizes_there_is_no_breakdown() -> None:
    lines = compare([sample(60), sample(120, final=True)], baseline_seconds=60, shortened=True)

    assert not any("Tables" in line for line in lines.lines())

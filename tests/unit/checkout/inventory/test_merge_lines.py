from __future__ import annotations

from checkout.inventory.domain import Line, merge_lines


def test_merge_lines_sums_duplicates_and_orders_by_product() -> None:
    merged = merge_lines([Line("b", 1), Line("a", 2), Line("b", 3)])
    assert merged == (Line("a", 2), Line("b", 4))

"""Medians, ranges and the printed table (Python ÷ Node ratios)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from typing import Any


def summary(values: Sequence[float]) -> tuple[float, float, float] | None:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values), min(values), max(values)


def fmt(stat: tuple[float, float, float] | None, digits: int) -> str:
    if stat is None:
        return "—"
    med, low, high = (f"{value:.{digits}f}" for value in stat)
    return med if low == high else f"{med} ({low}-{high})"


def table(rows: list[tuple[str, str, Any, Any, int]]) -> str:
    """rows of (case, metric, node summary, python summary, digits) → aligned text."""
    header = ("case", "metric", "node median (min-max)", "python median (min-max)", "py/node")
    lines = [header]
    last_case = None
    for case, metric, node, python, digits in rows:
        ratio = f"{python[0] / node[0]:.2f}" if node and python and node[0] else "—"
        lines.append((case if case != last_case else "", metric, fmt(node, digits),
                      fmt(python, digits), ratio))
        last_case = case
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
           for line in lines]
    out.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(out)


def metric_rows(results: list[Any], cases: Sequence[str],
                metrics: Sequence[tuple[str, Callable[[Any], float | None], int]],
                ) -> list[tuple[str, str, Any, Any, int]]:
    rows = []
    for case in cases:
        for name, getter, digits in metrics:
            per_sailor = {}
            for kind in ("node", "python"):
                runs = [r for r in results if r.case == case and r.sailor == kind and r.ok]
                per_sailor[kind] = summary([getter(r) for r in runs])
            rows.append((case, name, per_sailor["node"], per_sailor["python"], digits))
    return rows

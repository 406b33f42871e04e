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


def table(rows: list[tuple[str, str, dict[str, Any], int]]) -> str:
    """rows of (case, metric, {sailor: summary}, digits) → aligned text.

    One column per sailor measured, then the ratios: python/node, and python/minimal,
    python/base when those were run (``minimal``: the ceiling loop; ``base``: our
    sailor at another git revision, for A/B comparisons of a change).
    """
    kinds = [k for k in KINDS if any(row[2].get(k) for row in rows)]
    ratios = [(a, b) for a, b in (("python", "node"), ("python", "minimal"), ("python", "base"),
                                  ("minimal", "node"))
              if a in kinds and b in kinds]
    header = ("case", "metric", *(f"{k} median (min-max)" for k in kinds),
              *(f"{a[:2]}/{b}" for a, b in ratios))
    lines = [header]
    last_case = None
    for case, metric, per_kind, digits in rows:
        cells = [fmt(per_kind.get(k), digits) for k in kinds]
        for a, b in ratios:
            top, bottom = per_kind.get(a), per_kind.get(b)
            cells.append(f"{top[0] / bottom[0]:.2f}" if top and bottom and bottom[0] else "—")
        lines.append((case if case != last_case else "", metric, *cells))
        last_case = case
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
           for line in lines]
    out.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(out)


KINDS = ("node", "python", "base", "minimal")


def metric_rows(results: list[Any], cases: Sequence[str],
                metrics: Sequence[tuple[str, Callable[[Any], float | None], int]],
                ) -> list[tuple[str, str, dict[str, Any], int]]:
    rows = []
    for case in cases:
        for name, getter, digits in metrics:
            per_sailor = {}
            for kind in KINDS:
                runs = [r for r in results if r.case == case and r.sailor == kind and r.ok]
                per_sailor[kind] = summary([getter(r) for r in runs])
            rows.append((case, name, per_sailor, digits))
    return rows

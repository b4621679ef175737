"""Present `evaluate`'s results: a plain-text table and JSON without NaNs."""

import math
from typing import Any, Dict, List, Tuple


def scores(result: Dict[str, Any]) -> List[Tuple[str, float]]:
    """A task's headline numbers: its top-level float values, in order (counts, settings and
    per-subset, per-split or per-fold details are nested under other keys)."""
    return [(key, value) for key, value in result.items() if isinstance(value, float)]


def format_table(output: Dict[str, Any]) -> str:
    """`evaluate`'s output as a table of task, metric, score (x100) and seconds per task."""
    header = ("Task", "Metric", "Score x100", "Seconds")
    rows = []
    for task in output["tasks"]:
        seconds = f"{output['seconds'][task]:.1f}"
        for index, (metric, value) in enumerate(scores(output["results"][task])):
            rows.append(
                (
                    task if index == 0 else "",
                    metric,
                    "nan" if math.isnan(value) else f"{100 * value:.2f}",
                    seconds if index == 0 else "",
                )
            )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [_format_row(header, widths), _format_row(tuple("-" * w for w in widths), widths)]
    lines += [_format_row(row, widths) for row in rows]
    lines.append(f"Wall time: {output['wall_time_s']:.1f} s")
    return "\n".join(lines)


def _format_row(row: Tuple[str, ...], widths: List[int]) -> str:
    # Text columns left-aligned, numbers right-aligned.
    cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
    cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:])]
    return "  ".join(cells).rstrip()


def without_nan(value: Any) -> Any:
    """`value` with every float NaN or infinity (nested in dicts and lists) replaced by `None`,
    so that it serialises as strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: without_nan(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_nan(item) for item in value]
    return value

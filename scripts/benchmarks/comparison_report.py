"""The comparison's outputs: per-seed CSV, the Markdown tables (dev or test, mean ± sd over
seeds) and the confidence intervals of DeCLUTR's differences with every other row."""

import statistics
from pathlib import Path
from typing import Dict, List

from scripts.benchmarks.comparison_eval import METRICS, bootstrap_difference

HEADERS = {"stsb": "STS-B ρ", "sickr": "SICK-R ρ", "1nn": "1-NN acc", "retrieval": "retr. acc"}
DECLUTR_ROWS = ("declutr_paper", "declutr_best", "declutr_sentence_spans")


def _mean_sd(values: List[float], scale: float = 100.0) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0] * scale:.1f}"
    return f"{statistics.mean(values) * scale:.1f} ± {statistics.stdev(values) * scale:.1f}"


def _budget_cells(runs: List[Dict]) -> List[str]:
    trained = [run["train"] for run in runs if run.get("train")]
    if not trained:
        return ["-", "-", "-"]
    tokens = statistics.mean(t["encoder_tokens"] for t in trained)
    seconds = statistics.mean(t["train_seconds"] for t in trained)
    return [f"{tokens / 1e6:.3f}M", f"{seconds / 60:.1f}", f"{1000 * seconds / tokens:.2f}"]


def table(groups: List[Dict], split: str) -> str:
    """One row per group: its runs' `split` ("dev" or "test") scores, mean ± sd over seeds."""
    header = ["row", "seeds", "encoder tokens", "train min", "s / 1k tokens", "chosen"]
    header += [HEADERS[name] for name in METRICS] + (["dev score"] if split == "dev" else [])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for group in groups:
        if group.get("skipped"):
            cells = [group["label"], "-", "-", "-", "-", group["skipped"]]
            lines.append("| " + " | ".join(cells + ["-"] * (len(header) - 6)) + " |")
            continue
        runs = [run for run in group["runs"] if split in run]
        cells = [group["label"], str(len(runs)), *_budget_cells(runs), group.get("chosen", "-")]
        cells += [_mean_sd([run[split][name] for run in runs]) for name in METRICS]
        if split == "dev":
            cells.append(_mean_sd([run["dev"]["dev_score"] for run in runs]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def intervals(groups: List[Dict], parts: Dict[str, List[Dict]], resamples: int) -> str:
    """DeCLUTR (each of `DECLUTR_ROWS`) minus every other row on each test metric: the
    difference of means over seeds and its 95% paired-bootstrap interval over test items."""
    header = ["difference"] + [HEADERS[name] for name in METRICS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    labels = {group["row"]: group["label"] for group in groups}
    for mine in DECLUTR_ROWS:
        for other in labels:
            if mine not in parts or other not in parts or other == mine:
                continue
            cells = [f"{labels[mine]} − {labels[other]}"]
            for name in METRICS:
                found = bootstrap_difference(parts[mine], parts[other], name, resamples)
                cells.append(
                    f"{100 * found['difference']:+.1f} "
                    f"[{100 * found['low']:+.1f}, {100 * found['high']:+.1f}]"
                )
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_csv(groups: List[Dict], path: Path) -> None:
    """One line per run: its settings, budget, dev and (after `--final`) test scores."""
    columns = ["row", "seed", "chosen", "options", "encoder_tokens", "train_seconds"]
    columns += [f"dev_{name}" for name in METRICS] + ["dev_score"]
    columns += [f"test_{name}" for name in METRICS]
    lines = [",".join(columns)]
    for group in groups:
        for run in group.get("runs", []):
            train = run.get("train") or {}
            cells = [group["row"], str(run.get("seed", "")), str(run.get("chosen", ""))]
            cells.append('"' + str(run.get("options", "")).replace('"', "'") + '"')
            cells += [str(train.get("encoder_tokens", "")), f"{train.get('train_seconds', 0):.1f}"]
            cells += [f"{run['dev'][name]:.4f}" for name in METRICS + ["dev_score"]]
            test = run.get("test", {})
            cells += [f"{test[name]:.4f}" if name in test else "" for name in METRICS]
            lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

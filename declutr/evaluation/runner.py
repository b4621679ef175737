"""Evaluate an encoder on SentEval tasks, one after the other, each with a progress bar."""

import os
import time
from typing import Any, Dict, Iterable, Optional, Sequence, Union

from tqdm.auto import tqdm

from declutr.evaluation import classification, sts
from declutr.evaluation.embedding import Embed, embed_distinct
from declutr.evaluation.report import scores
from declutr.evaluation.tasks import (
    TASKS,
    Task,
    TaskData,
    check_files,
    checksums,
    resolve_tasks,
    texts_of,
)


def evaluate(
    encoder: Any,
    data_dir: Union[str, os.PathLike],
    tasks: Union[str, Iterable[str]],
    batch_size: Optional[int] = None,
    c_grid: Optional[Sequence[float]] = None,
    seed: int = classification.SEED,
    show_progress: Optional[bool] = None,
) -> Dict[str, Any]:
    """Score `encoder` on SentEval `tasks`, one after the other.

    Every task's files are checked before anything is embedded. Each task's distinct texts are
    embedded once; see `declutr.evaluation.sts` and `declutr.evaluation.classification` for the
    metrics.

    # Parameters

    encoder : `declutr.Encoder`
        Or anything with `encode(texts, batch_size=..., show_progress=...)` returning a
        `(len(texts), dim)` array.
    data_dir : `str | os.PathLike`
        SentEval's `data/downstream` directory (see `declutr.evaluation.tasks`).
    tasks : `str | Iterable[str]`
        Names from `declutr.evaluation.TASKS` (any case), or one comma-separated string.
    batch_size : `int`, optional (default=`None`)
        Texts per forward pass; `None` keeps the encoder's.
    c_grid : `Sequence[float]`, optional (default=`None`)
        Inverse regularisation strengths the classification tasks choose from. `None` gives each
        task its own: `classification.C_GRID`, and for MRPC SentEval's 2^-1..2^5
        (`classification.SENTEVAL_C_GRID`).
    seed : `int`, optional (default=`1111`, SentEval's)
        Seeds the classification tasks' folds, held-out splits and classifiers.
    show_progress : `bool`, optional (default=`None`)
        A progress bar per task; `None` shows them when stderr is a terminal.

    # Returns

    `{"model", "data_dir", "tasks", "results", "checksums", "seconds", "wall_time_s"}`:
    `results[task]` holds the task's scores (fractions, not percentages) and details,
    `checksums[task]` the sha256 of each file read, by its path relative to `data_dir`.

    # Raises

    `UnknownTaskError` (a `ValueError`) for a task not in `TASKS`; `MissingTaskDataError` (a
    `FileNotFoundError`) naming every missing file; `ValueError` for an empty or non-positive
    `c_grid`: all before anything is embedded.
    """
    started = time.perf_counter()
    if c_grid is not None:
        classification.check_c_grid(c_grid)
    names = resolve_tasks(tasks.split(",") if isinstance(tasks, str) else tasks)
    check_files(data_dir, names)
    output: Dict[str, Any] = {
        "model": str(getattr(encoder, "source", type(encoder).__name__)),
        "data_dir": str(data_dir),
        "tasks": names,
        "results": {},
        "checksums": {},
        "seconds": {},
    }
    for name in names:
        task_started = time.perf_counter()
        output["checksums"][name] = checksums(data_dir, name)
        output["results"][name] = evaluate_task(
            encoder, TASKS[name], data_dir, batch_size, c_grid, seed, show_progress
        )
        output["seconds"][name] = time.perf_counter() - task_started
    output["wall_time_s"] = time.perf_counter() - started
    return output


def evaluate_task(
    encoder: Any,
    task: Task,
    data_dir: Union[str, os.PathLike],
    batch_size: Optional[int] = None,
    c_grid: Optional[Sequence[float]] = None,
    seed: int = classification.SEED,
    show_progress: Optional[bool] = None,
) -> Dict[str, Any]:
    """Read, embed and score one task, with a progress bar over its distinct texts."""
    data = task.read(data_dir)
    disable = None if show_progress is None else not show_progress
    texts = texts_of(data)
    with tqdm(total=len(set(texts)), desc=task.name, unit="text", disable=disable) as progress:
        embed = embed_distinct(encoder, texts, batch_size, progress)
        progress.set_postfix_str("scoring")
        result = score(task.kind, data, embed, c_grid, seed)
        progress.set_postfix_str(", ".join(f"{k}={v:.4f}" for k, v in scores(result)[:2]))
    return result


def score(
    kind: str,
    data: TaskData,
    embed: Embed,
    c_grid: Optional[Sequence[float]] = None,
    seed: int = classification.SEED,
) -> Dict[str, Any]:
    """Score a task of `kind` (see `tasks.KINDS`) from its data and an embedding function;
    `c_grid=None` keeps each classification task's own grid."""
    if kind == "sts_subsets":
        return sts.evaluate_subsets(data, embed)  # type: ignore[arg-type]
    if kind == "sts_splits":
        return sts.evaluate_splits(data, embed)  # type: ignore[arg-type]
    classify = {
        "cross_validation": classification.evaluate_cross_validation,
        "classification": classification.evaluate_classification,
        "pair_classification": classification.evaluate_pair_classification,
    }[kind]
    if c_grid is None:
        return classify(data, embed, seed=seed)
    return classify(data, embed, c_grid=c_grid, seed=seed)

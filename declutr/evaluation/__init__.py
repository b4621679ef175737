"""Evaluate sentence encoders on SentEval's tasks, offline, and let MTEB evaluate them online.

    from declutr import Encoder
    from declutr.evaluation import evaluate

    output = evaluate(Encoder("model.tar.gz"), "SentEval/data/downstream", ["STSBenchmark", "MR"])
    output["results"]["STSBenchmark"]["spearman"]

`declutr evaluate` runs it from the command line. Modules: `tasks` (the tasks' files and
readers), `embedding` (each distinct text embedded once), `sts` and `classification` (the
metrics), `runner` (`evaluate`), `report` (the table) and `mteb` (`MTEBEncoder`).
"""

from declutr.evaluation.mteb import MTEBEncoder
from declutr.evaluation.report import format_table
from declutr.evaluation.runner import evaluate
from declutr.evaluation.tasks import (
    TASKS,
    MissingTaskDataError,
    UnknownTaskError,
    resolve_tasks,
)

__all__ = [
    "TASKS",
    "MTEBEncoder",
    "MissingTaskDataError",
    "UnknownTaskError",
    "evaluate",
    "format_table",
    "resolve_tasks",
]

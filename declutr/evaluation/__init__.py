"""Evaluate sentence encoders on SentEval's tasks, offline, and let MTEB evaluate them online.

    from declutr import Encoder
    from declutr.evaluation import evaluate

    output = evaluate(Encoder("model.tar.gz"), "SentEval/data/downstream", ["STSBenchmark", "MR"])
    output["results"]["STSBenchmark"]["spearman"]

`declutr evaluate` runs it from the command line. Modules: `tasks` (the tasks' files and
readers), `embedding` (each distinct text embedded once), `sts` and `classification` (the
metrics), `runner` (`evaluate`), `report` (the table) and `mteb` (`MTEBEncoder`).
"""

from declutr.lazy import lazy_attributes

__getattr__ = lazy_attributes(
    __name__,
    {
        "TASKS": "declutr.evaluation.tasks",
        "MTEBEncoder": "declutr.evaluation.mteb",
        "MissingTaskDataError": "declutr.evaluation.tasks",
        "UnknownTaskError": "declutr.evaluation.tasks",
        "evaluate": "declutr.evaluation.runner",
        "format_table": "declutr.evaluation.report",
        "resolve_tasks": "declutr.evaluation.tasks",
    },
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

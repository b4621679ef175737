"""`declutr evaluate`: SentEval's tasks, offline (`declutr.evaluation`)."""

import datetime
import importlib.metadata
import json
import platform
import time
from pathlib import Path
from typing import Annotated, Any, Dict, Optional

import typer

from declutr.commands.options import (
    Backend,
    BackendOption,
    BatchSize,
    ChunkOverlap,
    Device,
    LongTexts,
    LongTextsOption,
    MaxLength,
    Precision,
    PrecisionOption,
    Progress,
    fail,
    load_encoder,
)
from declutr.evaluation import settings as evaluation_settings
from declutr.evaluation.tasks import TASKS

VERSIONS = ("torch", "transformers", "scikit-learn", "scipy", "numpy")


def evaluate(
    model: Annotated[str, typer.Argument(metavar="MODEL", help="Archive, export or HF model.")],
    data_dir: Annotated[
        Path, typer.Option(help="SentEval's data/downstream directory.", show_default=False)
    ],
    tasks: Annotated[
        str, typer.Option(help=f"Comma-separated, from: {', '.join(TASKS)}.", show_default=False)
    ],
    output: Annotated[
        Optional[Path], typer.Option("--output", "-o", help="A JSON file to write.")
    ] = None,
    batch_size: BatchSize = 32,
    device: Device = None,
    max_length: MaxLength = None,
    seed: Annotated[
        int, typer.Option(help="Seed of the classification tasks.")
    ] = evaluation_settings.SEED,
    progress: Progress = True,
    precision: PrecisionOption = Precision("float32"),
    backend: BackendOption = Backend("torch"),
    long_texts: LongTextsOption = LongTexts("truncate"),
    chunk_overlap: ChunkOverlap = 0,
) -> None:
    """Score a model on SentEval's tasks, offline.

    STS12-STS16 (Spearman of cosine similarities, all subsets pooled and mean over subsets),
    STSBenchmark and SICKRelatedness (Spearman on test and dev), MR, CR, SUBJ, MPQA (10-fold
    cross-validated logistic regression), SST2, TREC (test accuracy) and MRPC (accuracy and F1).
    Prints a table of the scores (x100); --output writes every number, the model, the options,
    the sha256 of every task file read and the wall time as JSON.
    """
    from declutr.evaluation import (
        MissingTaskDataError,
        UnknownTaskError,
        format_table,
        resolve_tasks,
    )
    from declutr.evaluation import evaluate as run_evaluation
    from declutr.evaluation.report import without_nan
    from declutr.evaluation.tasks import check_files

    started = time.perf_counter()
    try:
        names = resolve_tasks(tasks.split(","))
        check_files(data_dir, names)
    except (UnknownTaskError, MissingTaskDataError) as error:
        fail(str(error))
    options = (precision.value, backend.value, long_texts.value, chunk_overlap)
    encoder = load_encoder(model, device, batch_size, max_length, *options)
    typer.echo(f"Evaluating {encoder!r} on {', '.join(names)}.", err=True)
    results = run_evaluation(encoder, data_dir, names, seed=seed, show_progress=progress)
    results["total_wall_time_s"] = time.perf_counter() - started
    typer.echo(format_table(results))
    if output is not None:
        record = _evaluation_record(model, encoder, seed, results)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(without_nan(record), indent=2, allow_nan=False) + "\n")
        typer.echo(f"Wrote {output}.")


def _evaluation_record(
    model: str, encoder: Any, seed: int, results: Dict[str, Any]
) -> Dict[str, Any]:
    """What the JSON file holds: the results with the model, the settings and the versions."""
    return {
        "model": model,
        "encoder": {
            "device": str(encoder.device),
            "batch_size": encoder.batch_size,
            "max_length": encoder.max_length,
            "dim": encoder.dim,
            "precision": encoder.precision,
            "backend": encoder.backend,
            "long_texts": encoder.long_texts,
        },
        "classifier": {
            "c_grid": list(evaluation_settings.C_GRID),
            "mrpc": {
                "c_grid": list(evaluation_settings.SENTEVAL_C_GRID),
                "kfold": evaluation_settings.SENTEVAL_KFOLD,
            },
            "seed": seed,
        },
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "versions": {name: importlib.metadata.version(name) for name in VERSIONS},
        **{key: value for key, value in results.items() if key != "model"},
    }

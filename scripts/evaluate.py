"""Score a sentence encoder on SentEval's tasks, offline.

    python scripts/evaluate.py MODEL --data-dir DIR --tasks STSBenchmark,MR --output results.json

MODEL is anything `declutr.Encoder` loads: an AllenNLP archive or serialization directory, a
directory written by scripts/export.py, or a Hugging Face model (directory or hub name). DIR is
SentEval's `data/downstream` directory, as SentEval's get_transfer_data.bash lays it out. Tasks:
STS12-STS16 (Spearman of cosine similarities, all subsets pooled and mean over subsets),
STSBenchmark and SICKRelatedness (Spearman on test and dev), MR, CR, SUBJ, MPQA (10-fold
cross-validated accuracy of logistic regression), SST2, TREC (test accuracy) and MRPC (test
accuracy and F1). Prints a table of the scores (x100) and writes every number, the model, the
options, the sha256 of every task file read and the wall time as JSON.

--max-length counts subword tokens without the special tokens, as DeCLUTR's reader does;
sentence-transformers' max_seq_length counts them (its 128 is 126 here for a BERT model).
"""

import importlib.metadata
import importlib.util
import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Dict, NoReturn, Optional

import typer

PROJECT_ROOT = Path(__file__).resolve().parents[1]
if importlib.util.find_spec("declutr") is None:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(PROJECT_ROOT))

from declutr import Encoder  # noqa: E402
from declutr.evaluation import (  # noqa: E402
    TASKS,
    MissingTaskDataError,
    UnknownTaskError,
    evaluate,
    format_table,
    resolve_tasks,
)
from declutr.evaluation.classification import C_GRID, SEED  # noqa: E402
from declutr.evaluation.report import without_nan  # noqa: E402
from declutr.evaluation.tasks import check_files  # noqa: E402

VERSIONS = ("torch", "transformers", "scikit-learn", "scipy", "numpy")

app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main(
    model: Annotated[str, typer.Argument(help="Archive, exported or Hugging Face model.")],
    data_dir: Annotated[
        Path, typer.Option(help="SentEval's data/downstream directory.", show_default=False)
    ],
    tasks: Annotated[
        str, typer.Option(help=f"Comma-separated, from: {', '.join(TASKS)}.", show_default=False)
    ],
    output: Annotated[Optional[Path], typer.Option(help="JSON file to write.")] = None,
    batch_size: Annotated[int, typer.Option(help="Texts per forward pass.")] = 32,
    device: Annotated[
        Optional[str], typer.Option(help="torch device; default: a GPU if there is one.")
    ] = None,
    max_length: Annotated[
        Optional[int],
        typer.Option(
            help="Subword tokens kept per text, special tokens excluded; default: the model's."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the classification tasks.")] = SEED,
    progress: Annotated[bool, typer.Option(help="A progress bar per task.")] = True,
) -> None:
    """Evaluate MODEL on the tasks."""
    started = time.perf_counter()
    try:
        names = resolve_tasks(tasks.split(","))
        check_files(data_dir, names)
    except (UnknownTaskError, MissingTaskDataError) as error:
        _fail(str(error))
    try:
        encoder = Encoder(model, device=device, batch_size=batch_size, max_length=max_length)
    except (OSError, ValueError) as error:
        _fail(f"Cannot load {model}: {error}")
    typer.echo(f"Evaluating {encoder!r} on {', '.join(names)}.", err=True)
    results = evaluate(encoder, data_dir, names, seed=seed, show_progress=progress)
    results["total_wall_time_s"] = time.perf_counter() - started
    typer.echo(format_table(results))
    if output is not None:
        record = _record(model, encoder, seed, results)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(without_nan(record), indent=2, allow_nan=False) + "\n")
        typer.echo(f"Wrote {output}.")


def _record(model: str, encoder: Any, seed: int, results: Dict[str, Any]) -> Dict[str, Any]:
    """What the JSON file holds: the results with the model, the settings and the versions."""
    return {
        "model": model,
        "encoder": {
            "device": str(encoder.device),
            "batch_size": encoder.batch_size,
            "max_length": encoder.max_length,
            "dim": encoder.dim,
        },
        "classifier": {"c_grid": list(C_GRID), "seed": seed},
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "versions": {name: importlib.metadata.version(name) for name in VERSIONS},
        **{key: value for key, value in results.items() if key != "model"},
    }


def _fail(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=1)


if __name__ == "__main__":
    app()

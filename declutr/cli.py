"""The `declutr` command: every step of the pipeline after (and around) `allennlp train`.

    declutr prepare-corpus INPUT... OUTPUT [--min-length N | --config CONFIG]
    declutr embed MODEL INPUT OUTPUT          (under torchrun: one shard per rank, then a merge)
    declutr merge OUTPUT                      (the parts of `embed --no-merge`)
    declutr export ARCHIVE OUT_DIR            (Hugging Face / sentence-transformers directory)
    declutr evaluate MODEL --data-dir DIR --tasks STSBenchmark,MR
    declutr demo [--output-dir demo_output]   (`make demo`)

MODEL is anything `declutr.Encoder` loads: an AllenNLP archive or serialization directory, a
directory written by `declutr export`, or a Hugging Face model (directory or hub name). Each
command's `--help` says more; the commands are thin: the work is done by `declutr.data.corpus`,
`declutr.inference` (encoder, sharding, export), `declutr.evaluation` and `declutr.demo`.
"""

import datetime
import importlib.metadata
import json
import logging
import os
import platform
import time
from pathlib import Path
from typing import Annotated, Any, Dict, List, NoReturn, Optional

import typer

from declutr import demo
from declutr.data import corpus
from declutr.data.sources import TextUnit
from declutr.evaluation import TASKS
from declutr.evaluation.classification import C_GRID, SEED, SENTEVAL_C_GRID, SENTEVAL_KFOLD

HELP = (
    "DeCLUTR from the command line: prepare-corpus, embed (and merge), export, evaluate, demo. "
    "MODEL is anything declutr.Encoder loads: an AllenNLP archive or serialization directory, a "
    "directory written by `declutr export`, or a Hugging Face model. Training is `allennlp "
    "train CONFIG --include-package declutr`."
)
app = typer.Typer(add_completion=False, help=HELP, no_args_is_help=True)
app.command("demo")(demo.main)
# Encoder's runtime and long-text options, shared by embed and evaluate.
Precision = Annotated[
    str, typer.Option(help="float32, bfloat16 (CPU with bf16 instructions, GPU) or float16 (GPU).")
]
Backend = Annotated[
    str, typer.Option(help='torch, or on the CPU openvino / onnx ("declutr[openvino]" / "[onnx]").')
]
LongTexts = Annotated[
    str, typer.Option(help="truncate, or chunk_mean: average the windows of a longer text.")
]
ChunkOverlap = Annotated[int, typer.Option(help="chunk_mean: tokens shared by adjacent windows.")]
# How long the ranks that finish first wait for the others before rank 0 merges.
MERGE_WAIT = datetime.timedelta(days=7)
VERSIONS = ("torch", "transformers", "scikit-learn", "scipy", "numpy")


def fail(message: str) -> NoReturn:
    """End the command with exit code 1 and `Error: message` on stderr."""
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(code=1)


@app.command("prepare-corpus")
def prepare_corpus(
    paths: Annotated[
        List[Path], typer.Argument(help="INPUT... OUTPUT: the inputs, then the output file.")
    ],
    min_length: Annotated[
        Optional[int],
        typer.Option(help="Fewest tokens a kept document has (default 1, or from --config)."),
    ] = None,
    config: Annotated[
        Optional[Path],
        typer.Option(help="Training config: min length 2 * num_anchors * max_span_len, tokenizer."),
    ] = None,
    overrides: Annotated[
        str, typer.Option(help="JSON overrides for --config, as allennlp takes them.")
    ] = "",
    tokenizer: Annotated[
        Optional[str],
        typer.Option(
            help="Hugging Face tokenizer (name or path) counting tokens; else whitespace."
        ),
    ] = None,
    lowercase: Annotated[bool, typer.Option(help="Lowercase every document.")] = False,
    text_unit: Annotated[
        TextUnit, typer.Option(help="A plain text file is one document, or one per line.")
    ] = TextUnit.file,
    strict: Annotated[
        bool, typer.Option(help="Fail on unreadable documents and archives.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Replace OUTPUT if it exists.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Write INPUTS' documents to OUTPUT, one normalised document per line (see
    `declutr.data.corpus` for the formats read)."""
    if len(paths) < 2:
        fail("Give at least one INPUT and the OUTPUT file.")
    inputs, output = paths[:-1], paths[-1]
    try:
        corpus.check_paths(inputs, output, force)
        min_length, tokenizer, count_tokens = corpus.length_settings(
            min_length, config, overrides, tokenizer
        )
        counts = corpus.prepare_corpus(
            inputs, output, min_length, count_tokens, lowercase, text_unit, strict, progress
        )
    except (OSError, ValueError) as error:
        fail(str(error))
    typer.echo(counts.summary(min_length, tokenizer or "whitespace"))
    if counts.kept == 0:
        output.unlink(missing_ok=True)
        fail(corpus.nothing_kept_message(counts, inputs))
    typer.echo(f"Wrote {counts.kept} documents to {output}.")


@app.command()
def embed(
    model: Annotated[str, typer.Argument(help="Archive, exported or Hugging Face model.")],
    input_path: Annotated[Path, typer.Argument(help="One text per line (.txt/.jsonl[.gz]).")],
    output_path: Annotated[Path, typer.Argument(help="The .npy or .jsonl to write.")],
    batch_size: Annotated[int, typer.Option(help="Texts per forward pass.")] = 32,
    max_length: Annotated[
        Optional[int], typer.Option(help="Subword tokens kept per text (default: the model's).")
    ] = None,
    device: Annotated[
        Optional[str],
        typer.Option(help="cpu, cuda, cuda:N (default: GPU LOCAL_RANK if any, else the CPU)."),
    ] = None,
    normalize: Annotated[bool, typer.Option(help="Unit-length vectors.")] = False,
    on_error: Annotated[
        str, typer.Option(help="raise: stop at a bad line; skip: NaN row / error line.")
    ] = "raise",
    merge: Annotated[bool, typer.Option(help="Rank 0 merges the parts at the end.")] = True,
    overwrite: Annotated[bool, typer.Option(help="Redo parts that are already complete.")] = False,
    precision: Precision = "float32",
    backend: Backend = "torch",
    long_texts: LongTexts = "truncate",
    chunk_overlap: ChunkOverlap = 0,
) -> None:
    """Embed INPUT into OUTPUT: `.npy` (a float32 array, row i = line i) or `.jsonl` (one
    {"embeddings": [...]} per line).

    Under torchrun (or any launcher that sets RANK and WORLD_SIZE, e.g. a job array), each rank
    embeds a contiguous shard of the lines into `OUTPUT.part-RRRRR-of-WWWWW` with a manifest
    (`declutr.inference.sharding`); the ranks then wait for each other (gloo, through torchrun's
    rendezvous) and rank 0 merges the parts into OUTPUT, which equals a single-process run. With
    --no-merge, copy the parts into one folder and run `declutr merge` there. Rerunning the same
    command skips the ranks whose parts are already complete.
    """
    import torch

    from declutr.inference.sharding import embed_shard

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    rank = int(os.environ.get("RANK", 0))
    world_size = int(os.environ.get("WORLD_SIZE", 1))
    if device is None and torch.cuda.is_available():
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0)) % torch.cuda.device_count()}"
    if output_path.suffix.lower() not in (".npy", ".jsonl"):
        fail(f"{output_path}: the output must end in .npy or .jsonl.")
    if not input_path.is_file():
        fail(f"No input file {input_path}.")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    options = (precision, backend, long_texts, chunk_overlap)
    encoder = _encoder(model, device, batch_size, max_length, *options)
    if world_size == 1:
        count = encoder.encode_file(input_path, output_path, normalize=normalize, on_error=on_error)
        typer.echo(f"Embedded {count} lines into {output_path}.")
        return
    manifest = embed_shard(
        encoder,
        input_path,
        output_path,
        rank,
        world_size,
        normalize=normalize,
        on_error=on_error,
        overwrite=overwrite,
    )
    typer.echo(f"Rank {rank} of {world_size}: wrote {manifest}.")
    if merge:
        _merge_after_every_rank(output_path, rank, world_size)


def _encoder(model: str, *options: Any) -> Any:
    """`declutr.Encoder(model, *options)`, or the command fails with the reason it cannot."""
    from declutr import Encoder

    try:
        return Encoder(model, *options)
    except (OSError, ValueError, ImportError) as error:
        fail(f"Cannot load {model}: {error}")


def _merge_after_every_rank(output_path: Path, rank: int, world_size: int) -> None:
    """Wait for every rank, merge on rank 0, and end every rank once the output is complete."""
    import torch.distributed as dist

    from declutr.inference.sharding import ShardError, merge_shards

    # Only a barrier crosses ranks: the embeddings never leave their rank's file.
    dist.init_process_group("gloo", timeout=MERGE_WAIT)
    problem = None
    try:
        dist.barrier()
        if rank == 0:
            try:
                count = merge_shards(output_path, remove_parts=True)
                typer.echo(f"Merged {world_size} parts into {output_path} ({count} rows).")
            except ShardError as error:
                problem = (
                    f"{error} (with ranks on several machines, pass --no-merge and merge the "
                    "parts, copied into one folder, there)."
                )
        dist.barrier()  # the other ranks end once the output is complete
    finally:
        dist.destroy_process_group()
    if problem is not None:
        fail(problem)


@app.command("merge")
def merge(
    output_path: Annotated[Path, typer.Argument(help="The .npy or .jsonl the parts make up.")],
    keep_parts: Annotated[bool, typer.Option(help="Keep the parts after merging.")] = False,
) -> None:
    """Join the parts of OUTPUT written by `declutr embed` under torchrun with --no-merge."""
    from declutr.inference.sharding import ShardError, merge_shards

    try:
        count = merge_shards(output_path, remove_parts=not keep_parts)
    except ShardError as error:
        fail(str(error))
    typer.echo(f"Merged into {output_path} ({count} rows).")


@app.command()
def export(
    archive: Annotated[str, typer.Argument(help="model.tar.gz or serialization directory.")],
    output_dir: Annotated[Path, typer.Argument(help="Directory to write.")],
    force: Annotated[bool, typer.Option(help="Write into a non-empty OUT_DIR.")] = False,
    verify: Annotated[bool, typer.Option(help="Compare the export's embeddings.")] = True,
    device: Annotated[str, typer.Option(help="torch device for loading and the check.")] = "cpu",
    backend: Annotated[
        Optional[List[str]],
        typer.Option(help="Also write this runtime's model: openvino, onnx (repeatable)."),
    ] = None,
) -> None:
    """Export ARCHIVE to OUT_DIR, a directory that `transformers.AutoModel`,
    `sentence_transformers.SentenceTransformer` (mean pooling included) and `declutr.Encoder`
    load, all embedding as `allennlp predict` does. The masked-LM head is left out; a model card
    records the base model, the training data and the training config. The export is checked by
    embedding a few texts with ARCHIVE and with OUT_DIR (--no-verify skips it). --backend
    openvino writes `openvino/openvino_model.xml`, --backend onnx `onnx/model.onnx` (float32),
    which sentence-transformers loads with backend="openvino" / "onnx" and `declutr.Encoder`
    with the same `backend`; the check then covers them too."""
    from declutr import Encoder
    from declutr.inference.export import CHECK_TEXTS, verify_export

    if not Path(archive).exists():
        fail(f"No archive {archive}: pass a model.tar.gz or a serialization directory.")
    if output_dir.exists() and any(output_dir.iterdir()) and not force:
        fail(f"{output_dir} is not empty; pass --force to write into it.")
    try:
        encoder = Encoder(archive, device=device)
        encoder.save_pretrained(output_dir, backend or ())
        cosine = verify_export(encoder, output_dir, device, backend or ()) if verify else -1.0
    except (OSError, ValueError, RuntimeError) as error:
        fail(str(error))
    typer.echo(f"Exported {archive} to {output_dir}.")
    if verify:
        typer.echo(f"Checked on {len(CHECK_TEXTS)} texts: smallest cosine similarity {cosine:.6f}.")


@app.command()
def evaluate(
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
    precision: Precision = "float32",
    backend: Backend = "torch",
    long_texts: LongTexts = "truncate",
    chunk_overlap: ChunkOverlap = 0,
) -> None:
    """Score MODEL on SentEval's tasks, offline. DIR is SentEval's `data/downstream` directory.
    STS12-STS16 (Spearman of cosine similarities, all subsets pooled and mean over subsets),
    STSBenchmark and SICKRelatedness (Spearman on test and dev), MR, CR, SUBJ, MPQA (10-fold
    cross-validated accuracy of logistic regression), SST2, TREC (test accuracy) and MRPC (test
    accuracy and F1). Prints a table of the scores (x100) and writes every number, the model,
    the options, the sha256 of every task file read and the wall time as JSON. --max-length
    counts subword tokens without the special tokens, as DeCLUTR's reader does."""
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
    options = (precision, backend, long_texts, chunk_overlap)
    encoder = _encoder(model, device, batch_size, max_length, *options)
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
            "c_grid": list(C_GRID),
            "mrpc": {"c_grid": list(SENTEVAL_C_GRID), "kfold": SENTEVAL_KFOLD},
            "seed": seed,
        },
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "versions": {name: importlib.metadata.version(name) for name in VERSIONS},
        **{key: value for key, value in results.items() if key != "model"},
    }


def main() -> None:
    """The console entry point (`declutr`, `python -m declutr`)."""
    app()


if __name__ == "__main__":
    main()

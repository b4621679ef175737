"""A small-scale reproduction of the DeCLUTR paper's claim, on two CPU cores, offline.

    python -m scripts.benchmarks.reproduction --shared-dir ../shared \
        --output-dir /tmp/declutr-reproduction

1. The base (`reproduction_base`): a byte-level BPE tokenizer and a random RoBERTa-style encoder
   built on the training split of `../shared/data/corpus/documents.jsonl` (`--num-validation`
   documents held out from every stage), then masked-LM pretraining on packed `--seq-len`-token
   sequences with AdamW (bias correction on), a linear warm-up over `--warmup-fraction` of the
   steps and a peak rate chosen by a sweep (`--sweep-rates`, `--sweep-steps` each, lowest
   held-out masked-LM loss).
2. From that one base, three continuations with the same budget of span tokens through the
   encoder, each for every seed of `--seeds` (allennlp in this process, the configs of
   `training_config/` with overrides: the paper's DistilRoBERTa rate and `correct_bias: false`
   are replaced by bias correction, `--warmup-fraction` of warm-up and a peak rate measured
   first: (a) with `--rate-seed` at each of `--continue-rates`, the best by held-out retrieval
   accuracy; that run is reused as (a) for its seed):
   (a) DeCLUTR, `declutr_small.jsonnet` (contrastive + masked LM),
   (b) contrastive only, `contrastive_only.jsonnet`,
   (c) masked LM only, `mlm_only.jsonnet`: it encodes anchors only, so it takes two epochs over
       fewer documents, as many as make its span tokens those of (a) (counted with (a)'s spans).
3. Scores the base and every continuation (`reproduction_eval`): STSBenchmark and
   SICKRelatedness (test), MR and TREC (`declutr.evaluation`), retrieval accuracy on the held-out
   documents (each anchor span retrieves its own positive among all positives), the mean cosine
   between STS-B sentences (near 1: collapsed vectors) and, for the base, held-out masked-token
   accuracy. Prints mean +- sd over seeds (Markdown, for the README) and writes `results.json`
   and `results.csv` in `--output-dir`.

A stage whose output exists under `--output-dir` is reused (`--no-reuse` redoes it), so an
interrupted run resumes and the base is trained once; seeds can run in parallel processes on the
same `--output-dir` (`--seeds 2`, `--seeds 3` once the rate is measured), and a final run with
all seeds collects the table. `--scale large` is a preset for a GPU
(a bigger base, more steps); it has not been run.
"""

import json
import logging
import os
import time
from pathlib import Path
from typing import Annotated, Dict, List, Tuple

import typer

from declutr.inference.options import REFERENCE_RUNTIME

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SHARED = Path(os.environ.get("DECLUTR_SHARED", PROJECT_ROOT.parent / "shared"))

TASKS = ["STSBenchmark", "SICKRelatedness", "MR", "TREC"]
COLUMN_KEYS = TASKS + ["retrieval"]
# --scale large: a preset for one GPU (a bigger base, more steps). Not run yet.
LARGE = {
    "hidden_size": 512,
    "num_layers": 8,
    "vocab_size": 16384,
    "batch_size": 128,
    "base_steps": 20000,
    "sweep_steps": 500,
    "continue_documents": 4000,
    "continue_batch_size": 32,
    "max_span_len": 256,
}

# Settings of the continuations that the experiments vary (`--mlm-weight`, `--temperature`, ...),
# at their defaults. A run with another value gets it in its name (`run_tag`), so the runs of
# several experiments share one output folder and its base.
CONTINUATION_DEFAULTS = {
    "continue_documents": 400,
    "continue_batch_size": 8,
    "temperature": 0.05,
    "min_span_len": 16,
    "max_span_len": 128,
    "mlm_weight": 1.0,
    "mlm_probability": 0.15,
    "unmasked_anchors": False,
}
TAG_NAMES = {
    "continue_documents": "docs",
    "continue_batch_size": "batch",
    "temperature": "temp",
    "min_span_len": "min",
    "max_span_len": "max",
    "mlm_weight": "mlmw",
    "mlm_probability": "mlmp",
    "unmasked_anchors": "unmasked anchors",
}
# The settings of the masked-LM loss, which change (a) alone.
DECLUTR_ONLY = ("mlm_weight", "mlm_probability", "unmasked_anchors")

app = typer.Typer(add_completion=False, help=__doc__)
logger = logging.getLogger("reproduction")


def cached(path: Path, reuse: bool, compute):
    """`compute()`, stored as JSON at `path`, or the stored value when `reuse` and it exists."""
    if reuse and path.is_file():
        logger.info("Reusing %s", path)
        return json.loads(path.read_text())
    value = compute()
    path.write_text(json.dumps(value, indent=2))
    return value


def build_base(output_dir: Path, train_texts: List[str], val_texts: List[str], opts: Dict) -> Dict:
    """The tokenizer and random encoder, the rate sweep and the pretraining; the base's
    Hugging Face directory is `output_dir / "base-hf"`."""
    import torch
    from transformers import AutoTokenizer, RobertaForMaskedLM

    from declutr.testing.from_scratch import build_encoder_from_scratch
    from scripts.benchmarks.reproduction_base import (
        PretrainSettings,
        pack,
        sweep,
        train_mlm,
        unigram_baseline,
    )

    scratch = output_dir / "scratch"
    if not (opts["reuse"] and (scratch / "config.json").is_file()):
        build_encoder_from_scratch(
            train_texts,
            scratch,
            vocab_size=opts["vocab_size"],
            hidden_size=opts["hidden_size"],
            num_hidden_layers=opts["num_layers"],
            num_attention_heads=opts["hidden_size"] // 64,
            intermediate_size=4 * opts["hidden_size"],
            seed=opts["seed"],
        )
    tokenizer = AutoTokenizer.from_pretrained(str(scratch))
    parameters = RobertaForMaskedLM.from_pretrained(str(scratch)).num_parameters()
    logger.info("base: %d parameters with its masked-LM head", parameters)
    rows_path = output_dir / "packed.pt"
    if opts["reuse"] and rows_path.is_file():
        train_rows, validation = torch.load(rows_path)
    else:
        train_rows = pack(tokenizer, train_texts, opts["seq_len"])
        validation = pack(tokenizer, val_texts, opts["seq_len"])[: opts["validation_rows"]]
        torch.save((train_rows, validation), rows_path)
    logger.info("MLM rows: %d training, %d held out", len(train_rows), len(validation))
    settings = {key: opts[key] for key in ("batch_size", "seq_len", "warmup_fraction", "seed")} | {
        "weight_decay": 0.01
    }
    swept = cached(
        output_dir / "sweep.json",
        opts["reuse"],
        lambda: sweep(
            scratch,
            train_rows,
            validation,
            opts["sweep_rates"],
            PretrainSettings(steps=opts["sweep_steps"], learning_rate=0.0, **settings),
            output_dir if opts["reuse"] else None,
        ),
    )
    base_settings = PretrainSettings(
        steps=opts["base_steps"], learning_rate=swept["best_learning_rate"], **settings
    )
    trained = cached(
        output_dir / "base.json",
        opts["reuse"] and (output_dir / "base-hf" / "config.json").is_file(),
        lambda: train_mlm(scratch, train_rows, validation, base_settings, output_dir / "base-hf"),
    )
    unigram = unigram_baseline(train_rows, validation)
    logger.info("unigram stage (training token frequencies) on held-out tokens: %s", unigram)
    return {"sweep": swept, **trained, "unigram": unigram}


def write_documents(texts: List[str], path: Path) -> Path:
    """`texts` as JSON lines at `path`, replaced atomically: processes running other seeds on the
    same output folder may be reading it."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    with temporary.open("w", encoding="utf-8") as handle:
        for text in texts:
            handle.write(json.dumps({"text": text}) + "\n")
    os.replace(temporary, path)
    return path


def continuations(
    output_dir: Path, train_texts: List[str], opts: Dict, pairs, evaluated
) -> Tuple[Dict, List[Dict]]:
    """The continuation rate (measured), then (a), (b) and (c) from the base for every seed:
    (rate measurement, one group of runs per variant)."""
    from scripts.benchmarks.reproduction_train import VARIANTS

    documents = train_texts[: opts["continue_documents"]]
    data_path = write_documents(documents, output_dir / "continue.jsonl")
    if not any(variant.name[0] in opts["variants"] for variant in VARIANTS):
        return {}, []
    measured = choose_rate(output_dir, data_path, len(documents), opts, pairs)
    opts = {**opts, "continue_lr": measured["best_learning_rate"]}
    chosen = [variant for variant in VARIANTS if variant.name[0] in opts["variants"]]
    groups = {
        variant.name: {"name": f"{variant.label}{label_tag(opts, variant)}", "runs": []}
        for variant in chosen
    }
    for seed in opts["seeds"]:  # every variant of a seed before the next seed
        for variant in chosen:
            run = continuation(output_dir, variant, data_path, len(documents), opts, seed)
            run |= evaluated(run["name"], str(output_dir / run["name"] / "model.tar.gz"))
            groups[variant.name]["runs"].append(run)
            groups[variant.name]["steps"] = run["steps"]
    return measured, list(groups.values())


def choose_rate(output_dir: Path, data_path: Path, num_documents: int, opts: Dict, pairs) -> Dict:
    """(a) with `--rate-seed` at each of `--continue-rates`; the rate with the best held-out
    retrieval accuracy (never a test set). The winner's run is reused as (a) for that seed."""
    from declutr import Encoder
    from scripts.benchmarks.reproduction_eval import retrieval_accuracy
    from scripts.benchmarks.reproduction_train import VARIANTS

    runs = []
    for rate in opts["continue_rates"]:
        rate_opts = {**opts, "continue_lr": rate}
        run = continuation(
            output_dir, VARIANTS[0], data_path, num_documents, rate_opts, opts["rate_seed"]
        )
        archive = str(output_dir / run["name"] / "model.tar.gz")
        accuracy = cached(
            output_dir / f"{run['name']}.retrieval.json",
            opts["reuse"],
            lambda a=archive: retrieval_accuracy(
                Encoder(a, batch_size=64, **REFERENCE_RUNTIME), *pairs
            ),
        )
        runs.append({"learning_rate": rate, "retrieval": accuracy})
        logger.info("continuation rate %g: held-out retrieval accuracy %.3f", rate, accuracy)
    best = max(runs, key=lambda run: run["retrieval"])
    return {"runs": runs, "best_learning_rate": best["learning_rate"]}


def changed_settings(opts: Dict, variant=None) -> List[Tuple[str, float]]:
    """The continuation settings that differ from `CONTINUATION_DEFAULTS`, as (short name,
    value); those of `DECLUTR_ONLY` only for (a)."""
    return [
        (TAG_NAMES[key], opts[key])
        for key, default in CONTINUATION_DEFAULTS.items()
        if opts[key] != default
        and not (key in DECLUTR_ONLY and variant is not None and variant.name != "a_declutr")
    ]


def run_tag(opts: Dict, variant=None) -> str:
    """`changed_settings` for run names: `_mlmw0.25_temp0.1`, or nothing at the defaults."""
    return "".join(
        f"_{name.split()[0]}{value:g}" for name, value in changed_settings(opts, variant)
    )


def label_tag(opts: Dict, variant) -> str:
    """`changed_settings` for the table: ` (docs 1600, max 64)`, or nothing at the defaults."""
    settings = ", ".join(
        name if isinstance(value, bool) else f"{name} {value:g}"
        for name, value in changed_settings(opts, variant)
    )
    return f" ({settings})" if settings else ""


def continuation(
    output_dir: Path, variant, data_path: Path, num_documents: int, opts: Dict, seed: int
) -> Dict:
    """One continuation from the base (reused when done), without its scores."""
    from scripts.benchmarks.reproduction_train import VARIANTS, mlm_documents, overrides, train

    name = f"{variant.name}_seed{seed}_lr{opts['continue_lr']:g}{run_tag(opts, variant)}"
    base_hf = str(output_dir / "base-hf")
    if variant.epochs > 1:  # (c): as many span tokens as (a), in two epochs over fewer documents
        settings_a = overrides(VARIANTS[0], base_hf, data_path, num_documents, opts, seed)
        num_documents = cached(
            output_dir / f"{name}.documents.json",
            opts["reuse"],
            lambda: mlm_documents(settings_a, num_documents),
        )
        lines = data_path.read_text(encoding="utf-8").splitlines()
        texts = [json.loads(line)["text"] for line in lines[:num_documents]]
        data_path = write_documents(texts, output_dir / f"{name}.jsonl")
    settings = overrides(variant, base_hf, data_path, num_documents, opts, seed)
    trained = cached(
        output_dir / f"{name}.train.json",
        opts["reuse"],
        lambda: train(variant, settings, output_dir / name),
    )
    logger.info("%s: trained in %.0f s", name, trained["train_seconds"])
    return {"name": name, "seed": seed, "documents": num_documents, **trained}


@app.command()
def main(
    shared_dir: Annotated[Path, typer.Option(help="The shared data folder.")] = DEFAULT_SHARED,
    output_dir: Annotated[Path, typer.Option(help="Models, logs and results.")] = Path(
        "/tmp/declutr-reproduction"
    ),
    scale: Annotated[str, typer.Option(help="'small' (CPU) or 'large' (GPU, untested).")] = "small",
    num_validation: Annotated[int, typer.Option(help="Documents held out.")] = 300,
    vocab_size: Annotated[int, typer.Option(help="BPE vocabulary of the base.")] = 8192,
    hidden_size: Annotated[int, typer.Option(help="Width of the base.")] = 128,
    num_layers: Annotated[int, typer.Option(help="Layers of the base.")] = 4,
    seq_len: Annotated[int, typer.Option(help="Tokens per pretraining sequence.")] = 128,
    batch_size: Annotated[int, typer.Option(help="Sequences per pretraining step.")] = 32,
    base_steps: Annotated[int, typer.Option(help="Optimizer steps of the base.")] = 800,
    sweep_steps: Annotated[int, typer.Option(help="Steps of each sweep run.")] = 100,
    sweep_rates: Annotated[str, typer.Option(help="Peak rates of the sweep.")] = "1e-3,2e-3,4e-3",
    warmup_fraction: Annotated[float, typer.Option(help="Warm-up, share of steps.")] = 0.06,
    validation_rows: Annotated[int, typer.Option(help="Held-out MLM sequences.")] = 256,
    continue_documents: Annotated[
        int, typer.Option(help="Documents of (a) and (b).")
    ] = CONTINUATION_DEFAULTS["continue_documents"],
    continue_batch_size: Annotated[
        int, typer.Option(help="Documents per batch.")
    ] = CONTINUATION_DEFAULTS["continue_batch_size"],
    continue_rates: Annotated[
        str, typer.Option(help="Peak rates tried for (a)-(c) (best held-out retrieval).")
    ] = "1e-4,3e-4",
    temperature: Annotated[
        float, typer.Option(help="NT-Xent temperature.")
    ] = CONTINUATION_DEFAULTS["temperature"],
    min_span_len: Annotated[
        int, typer.Option(help="Shortest span, in tokens.")
    ] = CONTINUATION_DEFAULTS["min_span_len"],
    max_span_len: Annotated[
        int, typer.Option(help="Longest span, in tokens.")
    ] = CONTINUATION_DEFAULTS["max_span_len"],
    mlm_weight: Annotated[
        float, typer.Option(help="Weight of the masked-LM loss in (a) (the paper's: 1).")
    ] = CONTINUATION_DEFAULTS["mlm_weight"],
    mlm_probability: Annotated[
        float, typer.Option(help="Share of anchor tokens masked in (a) (the paper's: 0.15).")
    ] = CONTINUATION_DEFAULTS["mlm_probability"],
    unmasked_anchors: Annotated[
        bool, typer.Option(help="(a) embeds unmasked anchors for its contrastive loss.")
    ] = CONTINUATION_DEFAULTS["unmasked_anchors"],
    seeds: Annotated[str, typer.Option(help="Seeds of the continuations.")] = "1,2,3",
    rate_seed: Annotated[int, typer.Option(help="Seed of the continuation rate runs.")] = 1,
    variants: Annotated[str, typer.Option(help="Continuations to run, of 'abc'.")] = "abc",
    evaluate_base: Annotated[bool, typer.Option(help="Score the base (for the table).")] = True,
    tasks: Annotated[str, typer.Option(help="Comma-separated SentEval tasks.")] = ",".join(TASKS),
    eval_batch_size: Annotated[int, typer.Option(help="Texts per forward pass.")] = 64,
    seed: Annotated[int, typer.Option(help="Seeds the split and the base.")] = 13,
    stop_after_base: Annotated[bool, typer.Option(help="Only build the base.")] = False,
    reuse: Annotated[bool, typer.Option(help="Reuse finished stages in --output-dir.")] = True,
) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("allennlp", "transformers", "declutr", "filelock", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    import torch

    from scripts.benchmarks.reproduction_base import split_documents
    from scripts.benchmarks.reproduction_eval import retrieval_pairs, score, table, verdict

    started = time.perf_counter()
    opts = dict(locals()) | LARGE if scale == "large" else dict(locals())
    if scale not in ("small", "large"):
        raise typer.BadParameter(f"--scale must be 'small' or 'large', got {scale!r}.")
    opts["sweep_rates"] = [float(rate) for rate in opts["sweep_rates"].split(",")]
    opts["seeds"] = [int(value) for value in opts["seeds"].split(",")]
    opts["continue_rates"] = [float(rate) for rate in opts["continue_rates"].split(",")]
    task_list = [task.strip() for task in opts["tasks"].split(",") if task.strip()]
    corpus = shared_dir / "data/corpus/documents.jsonl"
    data_dir = shared_dir / "data/senteval"
    for path in (corpus, data_dir):
        if not path.exists():
            raise typer.BadParameter(f"{path} is missing; point --shared-dir at the shared data.")
    output_dir.mkdir(parents=True, exist_ok=True)
    logger.info("torch threads: %d", torch.get_num_threads())
    train_texts, val_texts = split_documents(corpus, opts["num_validation"], opts["seed"])
    base = build_base(output_dir, train_texts, val_texts, opts)
    logger.info("base: %s", base["curve"][-1])
    if opts["stop_after_base"]:
        return
    base_hf = str(output_dir / "base-hf")
    val_path = write_documents(val_texts, output_dir / "validation.jsonl")
    # The same held-out spans for every run, whatever its span lengths: comparable scores.
    pairs = retrieval_pairs(
        base_hf,
        val_path,
        CONTINUATION_DEFAULTS["min_span_len"],
        CONTINUATION_DEFAULTS["max_span_len"],
    )
    logger.info("retrieval: %d held-out anchor/positive pairs", len(pairs[0]))

    def evaluated(name: str, model: str) -> Dict:
        """Scores, cached; tasks missing from the cache are added to it."""
        path = output_dir / f"{name}.eval.json"
        old = json.loads(path.read_text()) if opts["reuse"] and path.is_file() else None
        missing = [task for task in task_list if old is None or task not in old["scores"]]
        result = old
        if missing:
            result = score(model, data_dir, missing, pairs, opts["eval_batch_size"])
            if old is not None:
                for key in ("scores", "results", "checksums"):
                    result[key] = old[key] | result[key]
                result["eval_seconds"] += old["eval_seconds"]
            path.write_text(json.dumps(result, indent=2))
        logger.info("%s: %s, mean cosine %.3f", name, result["scores"], result["mean_cosine"])
        return result

    groups = []
    if opts["evaluate_base"]:
        base_row = {"train_seconds": base["train_seconds"], **evaluated("base", base_hf)}
        groups.append(
            {"name": "base (MLM from scratch)", "steps": opts["base_steps"], "runs": [base_row]}
        )
    measured, variant_groups = continuations(output_dir, train_texts, opts, pairs, evaluated)
    groups += variant_groups
    summary = {
        "benchmark": "reproduction",
        "settings": {k: v for k, v in opts.items() if isinstance(v, (int, float, str, list))},
        "base": {key: base[key] for key in ("sweep", "curve", "settings", "unigram")},
        "continuation_rate": measured,
        "groups": groups,
        "wall_time_s": time.perf_counter() - started,
    }
    write_results(output_dir, summary)
    print()
    print(table(groups))
    print()
    print(base_line(base, opts))
    print(f"Continuation rate: {measured}")
    print("\n".join(verdict(groups)))
    print(f"Wall time: {summary['wall_time_s'] / 60:.1f} min (reused stages not included).")


def base_line(base: Dict, opts: Dict) -> str:
    """The base in one line: shape, steps, chosen rate, held-out masked-LM figures."""
    last = base["curve"][-1]
    rates = ", ".join(
        f"{run['learning_rate']:g}: {run['mlm_loss']:.3f}" for run in base["sweep"]["runs"]
    )
    return (
        f"Base: {opts['num_layers']} layers x {opts['hidden_size']}, "
        f"vocabulary {opts['vocab_size']}, "
        f"{base['settings']['steps']} steps of {opts['batch_size']} x {opts['seq_len']} tokens, "
        f"peak rate {base['settings']['learning_rate']:g} (sweep, held-out MLM loss after "
        f"{opts['sweep_steps']} steps: {rates}); held-out masked-LM loss {last['mlm_loss']:.3f}, "
        f"masked-token accuracy {100 * last['masked_accuracy']:.1f}% (unigram stage: "
        f"{base['unigram']['mlm_loss']:.3f}, {100 * base['unigram']['masked_accuracy']:.1f}%), "
        f"{base['train_seconds'] / 60:.1f} min."
    )


def write_results(output_dir: Path, summary: Dict) -> None:
    """`results.json` (everything) and `results.csv` (one line per run)."""
    (output_dir / "results.json").write_text(json.dumps(summary, indent=2))
    lines = ["model,seed,train_seconds,span_tokens," + ",".join(COLUMN_KEYS) + ",mean_cosine"]
    for group in summary["groups"]:
        for run in group["runs"]:
            cells = [group["name"], str(run.get("seed", "")), f"{run.get('train_seconds', 0):.0f}"]
            cells.append(str(run.get("span_tokens", "")))
            cells += [f"{run['scores'].get(key, float('nan')):.4f}" for key in COLUMN_KEYS]
            cells.append(f"{run['mean_cosine']:.4f}")
            lines.append(",".join(cells))
    (output_dir / "results.csv").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    app()

"""DeCLUTR against the methods users would pick instead, every choice made on dev data (issue
#18; docs/comparison.md). One command; every run is cached by its settings, so a rerun skips what
is done:

    python -m scripts.benchmarks.comparison --settings s2 --output-dir /tmp/declutr-comparison
    python -m scripts.benchmarks.comparison --settings s2 --output-dir /tmp/declutr-comparison \
        --final          # then, once: the test splits, the table and the intervals
    python -m scripts.benchmarks.comparison --smoke --final   # every row, tiny, a few minutes

Settings (`comparison_data`): S2 adapts all-MiniLM-L6-v2 to the demo's BBC News articles; S1
continues a masked LM trained from scratch on `documents.jsonl` (`S1_BASE`, built with the
reproduction's code). Rows (`comparison_rows.ROWS`): the base untouched; (S1) a random encoder
of its shape and its averaged input embeddings; masked LM only; DeCLUTR as the paper configures
it (`declutr_small.jsonnet`, with `short_documents: "shrink"` for documents shorter than its
spans); DeCLUTR with the project's options (`unmasked_anchors`, Adam's bias correction); the
contrastive loss only; SimCSE and TSDAE through sentence-transformers (`comparison_peer.py`, in
the peer venv). Every trained row gets the same budget of encoder tokens (`comparison_train`).

Protocol: each trained row tries its grid (`comparison_rows.grid`, the rates and options) with seed
1; the dev score (`comparison_eval`: STS-B dev, SICK-R trial, validation 1-NN and validation
retrieval) picks one, and the other seeds train with it. Only `--final` reads test splits (STS-B
test, SICK-R test, the setting's test documents); it scores the chosen runs and writes the tables
and DeCLUTR's paired-bootstrap intervals. Outputs in `--output-dir`: `comparison.log`,
`results_<setting>.json`, `.csv` (one line per seed) and `.md` (the tables).
"""

import hashlib
import json
import logging
import os
import time
from pathlib import Path
from typing import Annotated, Callable, Dict, List, Optional

import numpy as np
import typer

from scripts.benchmarks.comparison_rows import ROWS, S1_BASE, S1_SMOKE, SMOKE, grid

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SHARED = Path(os.environ.get("DECLUTR_SHARED", PROJECT_ROOT.parent / "shared"))
DEFAULT_PEER_VENV = Path.home() / ".cache" / "declutr-benchmarks" / "comparison-peer-venv"
PEER_REQUIREMENTS = Path(__file__).with_name("comparison_peer_requirements.txt")
app = typer.Typer(add_completion=False, help=__doc__)
logger = logging.getLogger("comparison")


def cached(path: Path, compute: Callable[[], Dict]) -> Dict:
    """`compute()`, stored as JSON at `path`; the stored value when it exists."""
    if path.is_file():
        return json.loads(path.read_text())
    value = compute()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2))
    return value


def peer_python(venv: Path) -> Path:
    """The peer venv's python, installed from `comparison_peer_requirements.txt` when missing
    or installed from other requirements (as `embedding_throughput.peer_python`)."""
    import subprocess
    import sys

    python = venv / "bin" / "python"
    digest = hashlib.sha256(PEER_REQUIREMENTS.read_bytes()).hexdigest()
    marker = venv / "declutr-peer-requirements.sha256"
    if python.exists() and marker.exists() and marker.read_text().strip() == digest:
        return python
    logger.info("Installing the peer environment in %s (once) ...", venv)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "-r", str(PEER_REQUIREMENTS)]
    subprocess.run(pip, check=True)
    marker.write_text(digest + "\n")
    return python


def prepare(name: str, opts: Dict) -> Dict:
    """The setting's base, files and retrieval pairs (cached in `output_dir/<name>`)."""
    from scripts.benchmarks.comparison_data import prepare_s1, prepare_s2, read_lines
    from scripts.benchmarks.comparison_train import sentence_file

    folder = opts["output_dir"] / name
    limits = {"train": opts["limit_train"], "eval": opts["limit_eval"]}
    models: Dict[str, Dict] = {}
    if name == "s2":
        setting = prepare_s2(folder / "data", opts["s2_model"], limits)
        paths = {"train": setting.train_path, "validation": setting.validation_path}
        paths["test"] = setting.test_path
        base, spans = opts["s2_model"], (32, 128)
    else:
        from scripts.benchmarks.reproduction import build_base

        corpus = opts["shared_dir"] / "data/corpus/documents.jsonl"
        limits["train"] = opts["s1_documents"]
        train, held, paths = prepare_s1(folder / "data", corpus, 300, limits)
        base_dir = opts["s1_base_dir"] or folder / "base"
        base_dir.mkdir(parents=True, exist_ok=True)
        build_base(base_dir, train, held, {**opts["s1_base"], "reuse": True})
        base, spans = str(base_dir / "base-hf"), (16, 128)
        models["random"] = {"kind": "declutr", "path": str(base_dir / "scratch")}
        models["average"] = {"kind": "average", "path": base}
    models["base"] = {"kind": "declutr", "path": base}
    models["tfidf"] = {"kind": "tfidf", "path": str(paths["train"])}
    sentences = sentence_file(read_lines(paths["train"]), folder / "data" / "sentences.txt")
    return {"name": name, "base": base, "paths": paths, "spans": spans, "models": models,
            "sentences": sentences, "folder": folder}  # fmt: skip


def run_dir(setting: Dict, row: str, point: Dict, seed: int, tokens: int) -> Path:
    key = json.dumps([setting["name"], setting["base"], row, point, tokens], sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:10]
    return setting["folder"] / "runs" / f"{row}_seed{seed}_{digest}"


def train_run(setting: Dict, row: str, point: Dict, seed: int, opts: Dict) -> Dict:
    """One trained run (cached in its folder): training record and dev scores."""
    from scripts.benchmarks.comparison_train import train_allennlp, train_peer

    spec, tokens = ROWS[row], opts["tokens"][setting["name"]]
    folder = run_dir(setting, row, point, seed, tokens)

    def trained() -> Dict:
        logger.info("%s %s: training %s seed %d (%d tokens)", setting["name"], row, point, seed,
                    tokens)  # fmt: skip
        if spec["kind"] == "allennlp":
            return train_allennlp(spec["config"], setting["base"], setting["paths"]["train"],
                                  folder, point, seed, tokens)  # fmt: skip
        python = opts["peer"]()
        return train_peer(python, spec["method"], setting["base"], setting["sentences"], folder,
                          point, seed, tokens)  # fmt: skip

    train = cached(folder / "train.json", trained)
    logger.info("%s %s seed %d %s: %d tokens in %.0f s", setting["name"], row, seed, point,
                train["encoder_tokens"], train["train_seconds"])  # fmt: skip
    run = {"seed": seed, "options": point, "train": train, "model": train["model"]}
    return {**run, "dir": str(folder), "dev": dev_scores(folder, run["model"], setting, opts)}


def dev_scores(folder: Path, model: Dict, setting: Dict, opts: Dict) -> Dict:
    from scripts.benchmarks.comparison_eval import dev_data, embedder, items, scores

    def compute() -> Dict:
        data = dev_data(opts["senteval"], setting["paths"]["validation"],
                        _pairs(setting, "validation"), opts["limit_pairs"])  # fmt: skip
        return scores(items(data, embedder(model, _lazy_peer(model, opts))))

    found = cached(folder / "dev.json", compute)
    logger.info("%s dev: %s", folder.name, {k: round(v, 4) for k, v in found.items()})
    return found


def _pairs(setting: Dict, split: str):
    """Retrieval pairs of the validation or (`--final` only) test documents, cached."""
    from scripts.benchmarks.comparison_data import retrieval_pairs

    def compute() -> Dict:
        path, spans = setting["paths"][split], setting["spans"]
        anchors, positives = retrieval_pairs(setting["base"], path, *spans)
        return {"anchors": anchors, "positives": positives}

    found = cached(setting["folder"] / f"{split}_pairs.json", compute)
    return found["anchors"], found["positives"]


def _lazy_peer(model: Dict, opts: Dict) -> Optional[Path]:
    return opts["peer"]() if model["kind"] == "st" else None


def run_row(setting: Dict, row: str, opts: Dict) -> Dict:
    """A row's group: its runs (seed 1's sweep reused for the chosen point) with dev scores."""
    spec = ROWS[row]
    group = {"row": row, "label": spec["label"], "runs": []}
    if spec.get("only", setting["name"]) != setting["name"]:
        why = spec.get("why", "needs a base from scratch")
        return {**group, "skipped": f"{spec['only'].upper()} only ({why})"}
    if spec["kind"] == "untrained":
        folder = setting["folder"] / "runs" / row
        model = setting["models"][row]
        run = {"seed": None, "options": {}, "train": None, "model": model, "dir": str(folder)}
        group["runs"] = [{**run, "dev": dev_scores(folder, model, setting, opts)}]
        return group
    sweep = [train_run(setting, row, point, opts["seeds"][0], opts)
             for point in grid(setting["name"], row, opts["smoke"])]  # fmt: skip
    best = max(sweep, key=lambda run: run["dev"]["dev_score"])
    group["sweep"] = [{"options": run["options"], "dev": run["dev"]} for run in sweep]
    group["chosen"] = ", ".join(f"{key.split('.')[-1]} {value}" for key, value in
                                best["options"].items())  # fmt: skip
    seeds = [] if spec.get("probe") else opts["seeds"][1:]  # a probe informs a choice only
    group["runs"] = [best] + [
        train_run(setting, row, best["options"], seed, opts) for seed in seeds
    ]
    return group


def final_scores(setting: Dict, groups: List[Dict], opts: Dict) -> Dict[str, List[Dict]]:
    """`--final`: test scores of every chosen run (cached), and their per-item parts by row."""
    from scripts.benchmarks.comparison_eval import embedder, items, scores, test_data

    data = test_data(opts["senteval"], setting["paths"]["test"], _pairs(setting, "test"),
                     opts["limit_pairs"])  # fmt: skip
    parts: Dict[str, List[Dict]] = {}
    for group in groups:
        for run in group["runs"]:
            path = Path(run["dir"]) / "test_items.npz"
            if not path.is_file():
                found = items(data, embedder(run["model"], _lazy_peer(run["model"], opts)))
                np.savez(path, **found)
            loaded = dict(np.load(path))
            run["test"] = scores(loaded)
            parts.setdefault(group["row"], []).append(loaded)
            logger.info("%s %s seed %s test: %s", setting["name"], group["row"], run["seed"],
                        {k: round(v, 4) for k, v in run["test"].items()})  # fmt: skip
    return parts


def write_outputs(setting: Dict, groups: List[Dict], parts: Optional[Dict], opts: Dict) -> str:
    """`results_<setting>.json`, `.csv` and `.md` in `--output-dir`; returns the Markdown."""
    from scripts.benchmarks.comparison_report import intervals, table, write_csv

    name, folder = setting["name"], opts["output_dir"]
    text = f"## {name.upper()}: dev (choices)\n\n{table(groups, 'dev')}\n"
    if parts is not None:
        text += f"\n## {name.upper()}: test (--final)\n\n{table(groups, 'test')}\n"
        text += "\nDeCLUTR minus each row, test, mean over seeds [95% paired bootstrap over test "
        text += f"items, {opts['resamples']} resamples]:\n\n"
        text += intervals(groups, parts, opts["resamples"]) + "\n"
    settings = {key: str(value) for key, value in opts.items() if key != "peer"}
    summary = {"benchmark": "comparison", "setting": name, "settings": settings, "groups": groups}
    (folder / f"results_{name}.json").write_text(json.dumps(summary, indent=2, default=str))
    write_csv(groups, folder / f"results_{name}.csv")
    (folder / f"results_{name}.md").write_text(text, encoding="utf-8")
    return text


def _peer_factory(venv: Path) -> Callable[[], Path]:
    found: List[Path] = []

    def get() -> Path:
        if not found:
            found.append(peer_python(venv))
        return found[0]

    return get


def _logging(output_dir: Path) -> None:
    handler = logging.FileHandler(output_dir / "comparison.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    logging.getLogger().addHandler(handler)
    for noisy in ("allennlp", "transformers", "declutr", "filelock", "urllib3", "reproduction"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@app.command()
def main(
    settings: Annotated[str, typer.Option(help="Settings to run, of 's2,s1'.")] = "s2,s1",
    rows: Annotated[str, typer.Option(help="Rows to run (default: all).")] = ",".join(ROWS),
    seeds: Annotated[str, typer.Option(help="Seeds; the first one sweeps the grid.")] = "1,2,3",
    tokens_s2: Annotated[int, typer.Option(help="Encoder tokens per S2 run.")] = 40_000,
    tokens_s1: Annotated[int, typer.Option(help="Encoder tokens per S1 run.")] = 40_000,
    final: Annotated[bool, typer.Option(help="Score the test splits (once, at the end).")] = False,
    smoke: Annotated[bool, typer.Option(help="Every row end to end at tiny sizes.")] = False,
    output_dir: Annotated[Path, typer.Option(help="Runs, logs, results.")] = Path(
        "/tmp/declutr-comparison"
    ),
    shared_dir: Annotated[Path, typer.Option(help="The shared data folder.")] = DEFAULT_SHARED,
    s1_base_dir: Annotated[
        Optional[Path], typer.Option(help="A reproduction output folder whose base S1 reuses.")
    ] = None,
    peer_venv: Annotated[Path, typer.Option(help="venv of sentence-transformers.")] = (
        DEFAULT_PEER_VENV
    ),
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
) -> None:
    started = time.perf_counter()
    if smoke and output_dir == Path("/tmp/declutr-comparison"):
        output_dir = Path("/tmp/declutr-comparison-smoke")
    output_dir.mkdir(parents=True, exist_ok=True)
    _logging(output_dir)
    tiny = SMOKE if smoke else {}
    opts = {
        "output_dir": output_dir,
        "shared_dir": shared_dir,
        "senteval": shared_dir / "data/senteval",
        "s2_model": str(shared_dir / "models/all-MiniLM-L6-v2"),
        "s1_base_dir": s1_base_dir,
        "s1_base": S1_BASE | (S1_SMOKE if smoke else {}),
        "s1_documents": tiny.get("s1_documents"),
        "limit_train": tiny.get("train"),
        "limit_eval": tiny.get("eval"),
        "limit_pairs": tiny.get("pairs"),
        "tokens": {"s2": tiny.get("tokens", tokens_s2), "s1": tiny.get("tokens", tokens_s1)},
        "seeds": [int(seed) for seed in seeds.split(",")][: 2 if smoke else None],
        "smoke": smoke,
        "resamples": 200 if smoke else resamples,
        "peer": _peer_factory(peer_venv),
    }
    unknown = [row for row in rows.split(",") if row not in ROWS]
    if unknown:
        raise typer.BadParameter(f"--rows: unknown {unknown}; known: {list(ROWS)}.")
    logger.info("comparison: %s", {k: str(v) for k, v in opts.items() if k != "peer"})
    for name in settings.split(","):
        setting = prepare(name, opts)
        groups = [run_row(setting, row, opts) for row in rows.split(",")]
        parts = final_scores(setting, groups, opts) if final else None
        print(write_outputs(setting, groups, parts, opts), flush=True)
    logger.info("wall time %.1f min (cached stages not included)",
                (time.perf_counter() - started) / 60)  # fmt: skip


if __name__ == "__main__":
    app()

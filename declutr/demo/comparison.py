"""The demo's before/after step: the untrained encoder and the trained model scored on the same
held-out articles (`declutr.evaluation.before_after`), side by side, with a verdict."""

from pathlib import Path
from typing import Dict, Optional

from rich import box
from rich.console import Console
from rich.table import Table

from declutr.evaluation.before_after import HeldOutScores, score, untrained_model, verdict


def score_untrained(
    console: Console, config: Path, heldout_path: Path, overrides: Optional[Dict] = None
) -> HeldOutScores:
    """What training starts from: the config's model before any step, on the held-out articles
    (printed)."""
    model, reader = untrained_model(config, overrides)
    before = score(model, reader, heldout_path)
    retrieval = before.retrieval_accuracy
    console.print(
        f"1-NN category accuracy {before.one_nn_accuracy:.1%}, validation retrieval accuracy "
        + (f"{retrieval:.1%}" if retrieval is not None else "n/a (no document long enough)")
    )
    return before


def score_archive(archive: Path, heldout_path: Path) -> HeldOutScores:
    """The trained model (its best epoch's weights), on the held-out articles."""
    from allennlp.models.archival import load_archive

    import declutr

    declutr.register()  # the archive's config names declutr's registered components
    loaded = load_archive(str(archive))
    return score(loaded.model, loaded.dataset_reader, heldout_path)


def print_comparison(console: Console, before: HeldOutScores, after: HeldOutScores) -> None:
    """The before/after table and the one-line verdict."""
    table = Table(
        title=f"The same {after.num_documents} held-out articles, before and after training",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("measure")
    table.add_column("untrained", justify="right")
    table.add_column("trained", justify="right")
    table.add_column("chance", justify="right")
    table.add_row(
        "1-NN category accuracy (leave-one-out, cosine)",
        f"{before.one_nn_accuracy:.1%}",
        f"{after.one_nn_accuracy:.1%}",
        f"{after.chance:.1%}",
    )
    if before.retrieval_accuracy is not None and after.retrieval_accuracy is not None:
        table.add_row(
            f"validation retrieval accuracy ({after.num_pairs} span pairs)",
            f"{before.retrieval_accuracy:.1%}",
            f"{after.retrieval_accuracy:.1%}",
            f"{1 / after.num_pairs:.1%}",
        )
    console.print(table)
    console.print(verdict(before, after))

"""DeCLUTR: unsupervised contrastive sentence embeddings, as an AllenNLP plugin.

    from declutr import Encoder

    vectors = Encoder("model.tar.gz").encode(["A sentence.", "Another one."])

The pipeline, in package order: `data` (documents, spans, corpus preparation) -> `models`,
`modules`, `losses`, `training` (training) -> `predictors`, `inference` (embedding, export,
sharding) -> `evaluation`; `cli` is the `declutr` command.

Importing the package is cheap (no torch, no allennlp), so that `declutr --help` is instant. The
components register with allennlp when they are imported: `allennlp ... --include-package declutr`
imports them all, as does the first use of any name below (`declutr.Encoder`, `declutr.DeCLUTR`,
...) and `declutr.register()`, which applies the compatibility patches (`declutr.compat`) and
registers every component: the "declutr" dataset reader, model, predictor and checkpointer, the
"declutr_streaming" data loader, the "nt_xent" and "cross_batch_memory" losses, the
"pretrained_transformer_mlm" token embedder and the "retrieval" metric. Call `declutr.register()`
before using allennlp's Python API (`train_model_from_file`, `load_archive`) on declutr configs.
"""

import importlib
import warnings
from typing import Any, List

from declutr.lazy import lazy_attributes

__version__ = "0.1.0"

# Deprecation warnings of allennlp's dependencies, printed when allennlp imports them and not
# actionable by our users: silenced here, and only these (tests/test_cli.py checks stderr).
warnings.filterwarnings("ignore", category=FutureWarning, module=r"fairscale(\.|$)")
warnings.filterwarnings(
    "ignore", r"`torch\.jit\.script` is deprecated", FutureWarning, r"torch\.jit\._script"
)
# allennlp 2.10's trainer: transformers' AdamW (the optimizer its configs name) and amp's old API.
warnings.filterwarnings(
    "ignore",
    "This implementation of AdamW is deprecated",
    FutureWarning,
    r"transformers\.optimization",
)
warnings.filterwarnings(
    "ignore",
    r"`torch\.cuda\.amp\.autocast\(args\.\.\.\)` is deprecated",
    FutureWarning,
    r"allennlp\.training\.gradient_descent_trainer",
)

# The public names, by the module that defines them; importing any of them registers everything.
_API = {
    "apply_patches": "declutr.compat",
    "ContrastiveLoss": "declutr.losses",
    "CrossBatchMemory": "declutr.losses",
    "DeCLUTR": "declutr.models",
    "DeCLUTRCheckpointer": "declutr.training",
    "DeCLUTRDatasetReader": "declutr.data.dataset_readers",
    "DeCLUTRPredictor": "declutr.predictors",
    "Encoder": "declutr.inference.encoder",
    "NTXent": "declutr.losses",
    "PretrainedTransformerMLMEmbedder": "declutr.modules",
    "RetrievalMetric": "declutr.training",
    "StreamingDataLoader": "declutr.data.data_loaders",
}
# What `register()` imports, patches first.
_COMPONENTS = (
    "declutr.compat",
    "declutr.data.dataset_readers",
    "declutr.data.data_loaders",
    "declutr.losses",
    "declutr.models",
    "declutr.modules",
    "declutr.predictors",
    "declutr.training",
)
__all__ = ["register", "__version__", *sorted(_API)]


def register() -> None:
    """Apply the allennlp compatibility patches and register every component (idempotent)."""
    try:
        import allennlp  # noqa: F401
    except ModuleNotFoundError as error:  # tested in a subprocess (tests/test_install.py)
        if error.name != "allennlp":
            raise
        raise ImportError(
            "declutr needs allennlp 2.10.1, which is installed on its own because its declared "
            "pins cannot install on current Python: `pip install torch`, then `pip install "
            "--no-deps allennlp==2.10.1`, then `pip install -e . -c constraints.txt` (see the "
            "README's Install section)."
        ) from error
    for name in _COMPONENTS:
        importlib.import_module(name)


_public = lazy_attributes(__name__, _API)


def __getattr__(name: str) -> Any:
    """`declutr.Encoder` and the other public names, imported on first use (PEP 562), every
    component registered first."""
    if name in _API:
        register()
    return _public(name)


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_API))

"""DeCLUTR: unsupervised contrastive sentence embeddings, as an AllenNLP plugin.

Importing the package applies the allennlp compatibility patches (`declutr.compat`) and registers
every component: the "declutr" dataset reader, model, predictor and checkpointer, the "nt_xent"
and "cross_batch_memory" losses, the "pretrained_transformer_mlm" token embedder and the
"retrieval" metric. The pipeline, in package order: `data` (documents, spans, corpus
preparation) -> `models`, `modules`, `losses`, `training` (training) -> `predictors`,
`inference` (embedding, export, sharding) -> `evaluation`; `cli` is the `declutr` command.
"""

try:
    import allennlp  # noqa: F401
except ModuleNotFoundError as error:  # tested in a subprocess (tests/test_install.py)
    if error.name != "allennlp":
        raise
    raise ImportError(
        "declutr needs allennlp 2.10.1, which is installed on its own because its declared pins "
        "cannot install on current Python: `pip install torch`, then `pip install --no-deps "
        "allennlp==2.10.1`, then `pip install -e . -c constraints.txt` (see the README's "
        "Installation section)."
    ) from error

from declutr.compat import apply_patches  # noqa: E402  (importing it applies the patches)

# Registration happens on import; the order matters only in that patches come first.
from declutr.data import DeCLUTRDatasetReader, StreamingDataLoader  # noqa: E402
from declutr.inference.encoder import Encoder  # noqa: E402
from declutr.losses import ContrastiveLoss, CrossBatchMemory, NTXent  # noqa: E402
from declutr.models import DeCLUTR  # noqa: E402
from declutr.modules import PretrainedTransformerMLMEmbedder  # noqa: E402
from declutr.predictors import DeCLUTRPredictor  # noqa: E402
from declutr.training import DeCLUTRCheckpointer, RetrievalMetric  # noqa: E402

__all__ = [
    "apply_patches",
    "ContrastiveLoss",
    "CrossBatchMemory",
    "DeCLUTR",
    "DeCLUTRCheckpointer",
    "DeCLUTRDatasetReader",
    "DeCLUTRPredictor",
    "Encoder",
    "NTXent",
    "PretrainedTransformerMLMEmbedder",
    "RetrievalMetric",
    "StreamingDataLoader",
]

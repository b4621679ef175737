"""DeCLUTR: unsupervised contrastive sentence embeddings, as an AllenNLP plugin.

Importing the package applies the allennlp compatibility patches (`declutr.compat`) and registers
every component: the "declutr" dataset reader, model, predictor and checkpointer, the "nt_xent"
and "cross_batch_memory" losses, the "pretrained_transformer_mlm" token embedder and the
"retrieval" metric.
"""

from declutr.compat import apply_patches

apply_patches()

# Registration happens on import; the order matters only in that patches come first.
from declutr.data import DeCLUTRDatasetReader, StreamingDataLoader  # noqa: E402
from declutr.encoder import Encoder  # noqa: E402
from declutr.losses import ContrastiveLoss, CrossBatchMemory, NTXent  # noqa: E402
from declutr.models import DeCLUTR  # noqa: E402
from declutr.modules import PretrainedTransformerMLMEmbedder  # noqa: E402
from declutr.predictors import DeCLUTRPredictor  # noqa: E402
from declutr.training import DeCLUTRCheckpointer, RetrievalMetric  # noqa: E402

__all__ = [
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

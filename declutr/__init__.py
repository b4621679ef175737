"""DeCLUTR: unsupervised contrastive sentence embeddings, as an AllenNLP plugin.

Importing the package applies the allennlp compatibility patches (`declutr.compat`) and registers
every component: the "declutr" dataset reader, model and predictor, the "nt_xent" and
"cross_batch_memory" losses and the "pretrained_transformer_mlm" token embedder.
"""

from declutr.compat import apply_patches

apply_patches()

from declutr.data import DeCLUTRDatasetReader  # noqa: E402

__all__ = ["DeCLUTRDatasetReader"]

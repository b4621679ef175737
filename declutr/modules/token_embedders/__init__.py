from declutr.modules.token_embedders.pretrained_transformer_mlm import (
    PretrainedTransformerMLMEmbedder,
)

__all__ = ["PretrainedTransformerMLMEmbedder"]

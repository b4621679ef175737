from declutr.modules.token_embedders import PretrainedTransformerMLMEmbedder

__all__ = ["PretrainedTransformerMLMEmbedder"]

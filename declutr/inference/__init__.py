"""Embedding with a trained model, with plain torch and a Hugging Face tokenizer.

Modules: `encoder` (`Encoder`: encode, iter_encode, encode_file), `loading` (every kind of model
source; allennlp only for archives), `batching` (chunks, validation, padding, pooling), `outputs`
(atomic writes, `.npy` and `.jsonl` writers), `export` (Hugging Face and sentence-transformers
directories) and `sharding` (one corpus embedded by many processes).
"""

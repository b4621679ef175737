"""Build a small RoBERTa-style encoder from scratch, offline.

A byte-level BPE tokenizer is trained on the given texts and a randomly initialised
`RobertaForMaskedLM` is saved beside it, in the Hugging Face layout that `from_pretrained`, the
`pretrained_transformer` tokenizer and indexer, and this plugin's token embedders all accept.
Tests, `make demo` and the benchmarks use it where no pretrained model can be downloaded.
"""

from pathlib import Path
from typing import Iterable, Union

import torch
from tokenizers import ByteLevelBPETokenizer
from transformers import RobertaConfig, RobertaForMaskedLM, RobertaTokenizerFast

SPECIAL_TOKENS = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def build_encoder_from_scratch(
    texts: Iterable[str],
    output_dir: Union[str, Path],
    vocab_size: int = 1000,
    hidden_size: int = 32,
    num_hidden_layers: int = 2,
    num_attention_heads: int = 2,
    intermediate_size: int = 64,
    max_position_embeddings: int = 514,
    dropout: float = 0.1,
    seed: int = 0,
) -> Path:
    """Train a tokenizer on `texts`, initialise a masked LM with it, save both to `output_dir`.

    # Parameters

    texts : `Iterable[str]`
        Training text for the tokenizer.
    output_dir : `str | Path`
        Created if missing; receives `config.json`, the weights and the tokenizer files.
    vocab_size : `int`, optional (default=`1000`)
        Target BPE vocabulary size, special tokens included.
    hidden_size, num_hidden_layers, num_attention_heads, intermediate_size : `int`, optional
        The transformer's shape.
    max_position_embeddings : `int`, optional (default=`514`)
        RoBERTa reserves two positions, so 514 allows 512-token inputs.
    dropout : `float`, optional (default=`0.1`)
        Hidden and attention dropout (0 makes training steps deterministic given the data).
    seed : `int`, optional (default=`0`)
        Seeds the weight initialisation.
    """
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        texts, vocab_size=vocab_size, min_frequency=2, special_tokens=SPECIAL_TOKENS
    )
    bpe.save_model(str(output_dir))
    tokenizer = RobertaTokenizerFast(
        vocab_file=str(output_dir / "vocab.json"),
        merges_file=str(output_dir / "merges.txt"),
        model_max_length=max_position_embeddings - 2,
    )
    tokenizer.save_pretrained(str(output_dir))
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        num_hidden_layers=num_hidden_layers,
        num_attention_heads=num_attention_heads,
        intermediate_size=intermediate_size,
        max_position_embeddings=max_position_embeddings,
        hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    RobertaForMaskedLM(config).save_pretrained(str(output_dir))
    return output_dir

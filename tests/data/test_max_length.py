"""`max_length` against the model's positions (`declutr.data.texts.max_length_limit`): a value
the model cannot take is refused up front, naming the largest it takes, by the reader and by
`Encoder` (the predictor, export and `declutr evaluate` go through these two; see
tests/inference/test_max_length.py)."""

from pathlib import Path

import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.data.tokenizers import PretrainedTransformerTokenizer
from transformers import AutoTokenizer, BertConfig, BertModel, BertTokenizerFast

from declutr import Encoder
from declutr.data.dataset_readers import DeCLUTRDatasetReader
from declutr.data.texts import max_length_limit, model_config
from tests import DOCUMENTS

LONG_TEXT = "word " * 2000


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory) -> str:
    """A 1-layer, 32-dim BERT with 512 positions and a word-level vocabulary of the fixtures."""
    path = tmp_path_factory.mktemp("tiny-bert-512")
    words = sorted(set(DOCUMENTS.read_text(encoding="utf-8").lower().split()) | {"word"})
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    (path / "vocab.txt").write_text("\n".join(special + words) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), model_max_length=512)
    tokenizer.save_pretrained(str(path))
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=512,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(str(path))
    return str(path)


def reader(model: str, max_length=None) -> DeCLUTRDatasetReader:
    return DeCLUTRDatasetReader(PretrainedTransformerTokenizer(model), max_length=max_length)


def test_a_512_position_bert_takes_510_tokens_and_a_514_position_roberta_510(tiny_bert, tiny_model):
    # Given a BERT with 512 positions and a RoBERTa with 514 (positions start after padding)
    # When / Then each takes 510 subword tokens besides its 2 special ones, and says why
    bert = max_length_limit(AutoTokenizer.from_pretrained(tiny_bert), model_config(tiny_bert))
    assert bert == (510, "512 position embeddings less 2 special tokens")
    roberta = max_length_limit(AutoTokenizer.from_pretrained(tiny_model), model_config(tiny_model))
    assert roberta == (
        510,
        "514 position embeddings less 2 before the first position (roberta) less 2 special tokens",
    )


def test_without_a_config_the_tokenizers_maximum_is_the_limit(tiny_bert, tmp_path):
    # Given a tokenizer alone, reporting 128 positions
    AutoTokenizer.from_pretrained(tiny_bert, model_max_length=128).save_pretrained(str(tmp_path))
    # When / Then its maximum less the special tokens is the limit
    assert model_config(str(tmp_path)) is None
    tokenizer = AutoTokenizer.from_pretrained(str(tmp_path))
    assert max_length_limit(tokenizer, None) == (
        126,
        "the tokenizer's model_max_length 128 less 2 special tokens",
    )


def test_the_reader_refuses_a_max_length_the_model_cannot_take(tiny_bert):
    # Given a 512-position BERT / When a reader asks for 511 tokens per text
    # Then it is refused, naming the largest allowed value
    with pytest.raises(ConfigurationError, match=r"max_length=511 .* at most 510 subword tokens"):
        reader(tiny_bert, max_length=511)
    # And 510, the default, is accepted
    assert reader(tiny_bert, max_length=510).max_length == reader(tiny_bert).max_length == 510
    with pytest.raises(ConfigurationError, match="max_length must be at least 1, got 0"):
        reader(tiny_bert, max_length=0)


def test_the_encoder_refuses_a_max_length_the_model_cannot_take(tiny_bert):
    # Given a 512-position BERT / When an Encoder asks for 511 tokens per text
    # Then it is refused before encoding anything, naming the largest allowed value
    with pytest.raises(ValueError, match=r"max_length=511 .* at most 510 .* Set max_length to 510"):
        Encoder(tiny_bert, max_length=511)
    # And at 510 a 2,000-word text encodes (truncated), where 512 crashed inside the model
    encoder = Encoder(tiny_bert, max_length=510)
    assert encoder.encode([LONG_TEXT]).shape == (1, 32)
    assert encoder.truncated == 1
    assert Encoder(tiny_bert).max_length == 510


def test_all_minilm_refuses_512_and_embeds_at_510(shared_dir: Path):
    # Given all-MiniLM-L6-v2, a 512-position BERT (the case of the bug report)
    model = str(shared_dir / "models" / "all-MiniLM-L6-v2")
    # When / Then max_length=512 is refused naming 510, and 510 embeds a 2,000-word text
    with pytest.raises(ValueError, match="at most 510 subword tokens"):
        Encoder(model, max_length=512)
    assert Encoder(model, max_length=510).encode([LONG_TEXT]).shape == (1, 384)

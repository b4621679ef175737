"""Short documents (`short_documents="shrink"`): documents under 2 * num_anchors * max_span_len
tokens contribute with their spans shrunk to fit; the reader counts and logs them; a corpus of
100-300-token documents trains."""

import json
import logging
import math
import re
from pathlib import Path
from typing import List

import pytest
from allennlp.commands.train import train_model_from_file
from allennlp.common.checks import ConfigurationError
from allennlp.data.tokenizers import PretrainedTransformerTokenizer

from declutr.data.dataset_readers import DeCLUTRDatasetReader
from tests import CONFIG_ROOT, DOCUMENTS, MODEL_VARIABLE, quickstart_overrides

READER_LOGGER = "declutr.data.dataset_readers.declutr"
# 2 anchors of 16-64 tokens: full spans need 256 tokens; shrunk ones at least 2 * 2 * 16 = 64.
SAMPLING = dict(num_anchors=2, num_positives=2, max_span_len=64, min_span_len=16)


@pytest.fixture(scope="module")
def tokenizer(tiny_model) -> PretrainedTransformerTokenizer:
    return PretrainedTransformerTokenizer(tiny_model)


def num_tokens(tokenizer: PretrainedTransformerTokenizer, text: str) -> int:
    return len(tokenizer.tokenizer(text, add_special_tokens=False)["input_ids"])


def document_of(tokenizer, words: List[str], target: int) -> str:
    """The shortest prefix of `words` with at least `target` tokens."""
    low, high = 1, len(words)
    while low < high:
        middle = (low + high) // 2
        if num_tokens(tokenizer, " ".join(words[:middle])) >= target:
            high = middle
        else:
            low = middle + 1
    return " ".join(words[:low])


def short_corpus(tokenizer, targets: List[int]) -> List[str]:
    """One document per fixture document and target length, each cut to about that many
    tokens."""
    texts = DOCUMENTS.read_text(encoding="utf-8").splitlines()
    return [document_of(tokenizer, text.split(), target) for text in texts for target in targets]


def read(tokenizer, path: Path, caplog, **kwargs):
    reader = DeCLUTRDatasetReader(tokenizer, seed=0, shuffle_buffer_size=0, **SAMPLING, **kwargs)
    with caplog.at_level(logging.INFO, logger=READER_LOGGER):
        instances = list(reader.read(str(path)))
    return reader, instances


def test_shrink_samples_short_documents_counts_and_logs_them(tokenizer, tmp_path, caplog):
    # Given documents of about 40, 100, 200 and 300 tokens (full spans need 256; shrunk ones 64)
    documents = short_corpus(tokenizer, [40, 100, 200, 300])[:4]
    lengths = [num_tokens(tokenizer, text) for text in documents]
    assert lengths[0] < 64 <= lengths[1] < lengths[2] < 256 <= lengths[3]
    path = tmp_path / "docs.txt"
    path.write_text("\n".join(documents) + "\n", encoding="utf-8")
    # When the reader reads them with short_documents="shrink"
    reader, instances = read(tokenizer, path, caplog, short_documents="shrink")
    # Then the two short ones contribute, counted as shrunk; the one under 64 tokens is skipped
    assert reader.counts == {"lines": 4, "instances": 3, "shrunk": 2, "too_short": 1}
    assert reader.min_document_tokens == 64
    # And their spans fit: no span longer than num_tokens // (2 * num_anchors), the
    # full-length document keeps spans up to max_span_len
    for instance, length in zip(instances, lengths[1:]):
        longest = min(64, length // 4)
        for field in [*instance["anchors"], *instance["positives"]]:
            assert 16 <= len(field.tokens) - 2 <= longest
    # And the counts are logged
    assert (
        f"Read {path}: 4 lines, 3 instances (2 with spans shrunk to fit); skipped 0 empty lines "
        "and 1 documents shorter than 64 tokens." in caplog.messages
    )


def test_skip_is_the_default_and_keeps_the_full_minimum(tokenizer, tmp_path, caplog):
    # Given the same short documents
    documents = short_corpus(tokenizer, [40, 100, 200, 300])[:4]
    path = tmp_path / "docs.txt"
    path.write_text("\n".join(documents) + "\n", encoding="utf-8")
    # When the reader reads them with the default setting
    reader, instances = read(tokenizer, path, caplog)
    # Then only the document of 256 tokens or more contributes, as before
    assert reader.counts == {"lines": 4, "instances": 1, "too_short": 3}
    assert (
        f"Read {path}: 4 lines, 1 instances; skipped 0 empty lines and 3 documents shorter than "
        "256 tokens." in caplog.messages
    )


def test_without_any_document_of_the_shrunk_minimum_reading_names_it(tokenizer, tmp_path, caplog):
    # Given documents of under 64 tokens only
    path = tmp_path / "tiny.txt"
    path.write_text("A few words.\nAnd a few more.\n", encoding="utf-8")
    # When / Then reading with short_documents="shrink" fails naming its minimum
    message = re.escape("at least 64 subword tokens (2 * num_anchors * min_span_len = 2 * 2 * 16)")
    with pytest.raises(ValueError, match=message):
        read(tokenizer, path, caplog, short_documents="shrink")
    # And with "skip" the message suggests "shrink"
    with pytest.raises(ValueError, match='or set short_documents to "shrink"'):
        read(tokenizer, path, caplog)


def test_text_to_instance_shrinks_or_names_the_minimum(tokenizer):
    # Given a reader with short_documents="shrink" and a 100-token text
    reader = DeCLUTRDatasetReader(tokenizer, seed=0, short_documents="shrink", **SAMPLING)
    text = short_corpus(tokenizer, [100])[0]
    # When / Then its spans are shrunk to 100 // 4 tokens at most
    instance = reader.text_to_instance(text)
    assert max(len(f.tokens) - 2 for f in instance["anchors"]) <= num_tokens(tokenizer, text) // 4
    # And a text under 64 tokens fails naming that minimum
    with pytest.raises(ValueError, match=re.escape("sampling needs at least 64 (2 * num_anchors")):
        reader.text_to_instance("Too short.")


def test_short_documents_is_validated(tokenizer):
    with pytest.raises(ConfigurationError, match="short_documents must be one of .*'truncate'"):
        DeCLUTRDatasetReader(tokenizer, short_documents="truncate", **SAMPLING)
    with pytest.raises(ConfigurationError, match="short_documents must be one of .*'truncate'"):
        DeCLUTRDatasetReader(tokenizer, short_documents="truncate")


@pytest.mark.slow
def test_a_corpus_of_100_to_300_token_documents_trains(
    tiny_model, tokenizer, tmp_path, monkeypatch
):
    # Given 48 documents of 100-300 tokens (36 of them under the 256 full spans need)
    documents = short_corpus(tokenizer, [100, 160, 220, 300])
    lengths = [num_tokens(tokenizer, text) for text in documents]
    assert 100 <= min(lengths) and max(lengths) <= 310
    assert sum(length < 256 for length in lengths) >= 36
    corpus = tmp_path / "short.txt"
    corpus.write_text("\n".join(documents) + "\n", encoding="utf-8")
    # When the quickstart config, with spans of 16-64 tokens (full spans need 256 tokens) and
    # short_documents="shrink", trains on it for one epoch
    monkeypatch.setenv(MODEL_VARIABLE, tiny_model)  # the quickstart config's encoder
    overrides = quickstart_overrides(
        train_data_path=str(corpus),
        **{
            "dataset_reader.max_span_len": 64,
            "dataset_reader.min_span_len": 16,
            "dataset_reader.short_documents": "shrink",
            "trainer.num_epochs": 1,
        },
    )
    out = tmp_path / "out"
    train_model_from_file(
        str(CONFIG_ROOT / "quickstart.jsonnet"),
        str(out),
        overrides=json.dumps(overrides),
        include_package=["declutr"],
        return_model=False,
    )
    # Then every document contributed, the short ones with shrunk spans, as the log says
    shrunk = sum(length < 256 for length in lengths)
    log = (out / "out.log").read_text(encoding="utf-8")
    assert f"48 lines, 48 instances ({shrunk} with spans shrunk to fit)" in log
    # And training ran to the end with a finite loss and saved the model
    metrics = json.loads((out / "metrics.json").read_text())
    assert math.isfinite(metrics["training_loss"]) and metrics["training_loss"] > 0
    assert (out / "model.tar.gz").is_file()

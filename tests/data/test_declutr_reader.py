"""Tests of the "declutr" dataset reader with the tiny fixture model's tokenizer."""

import gzip
import itertools
import json
import logging
import re
from pathlib import Path
from typing import Dict, List

import pytest
from allennlp.common.checks import ConfigurationError
from allennlp.data import Instance, Vocabulary
from allennlp.data.data_loaders import MultiProcessDataLoader
from allennlp.data.dataset_readers.dataset_reader import DistributedInfo, WorkerInfo
from allennlp.data.fields import ListField, TextField
from allennlp.data.tokenizers import PretrainedTransformerTokenizer, WhitespaceTokenizer

from declutr.data.dataset_readers import DeCLUTRDatasetReader
from declutr.data.documents import DocumentFormatError
from tests import DOCUMENTS

READER_LOGGER = "declutr.data.dataset_readers.declutr"
# 2 anchors of up to 64 tokens: documents need 256 tokens; every fixture document has more.
SAMPLING = dict(num_anchors=2, num_positives=2, max_span_len=64, min_span_len=16)


@pytest.fixture(scope="module")
def tokenizer(tiny_model) -> PretrainedTransformerTokenizer:
    return PretrainedTransformerTokenizer(tiny_model)


@pytest.fixture(scope="module")
def texts() -> List[str]:
    return DOCUMENTS.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def doc_ids(tokenizer, texts) -> List[List[int]]:
    """The fixture documents' token ids, tokenized independently of the reader."""
    return [token_ids(tokenizer, text) for text in texts]


def token_ids(tokenizer: PretrainedTransformerTokenizer, text: str) -> List[int]:
    return tokenizer.tokenizer(text, add_special_tokens=False)["input_ids"]


def make_reader(tokenizer, **kwargs) -> DeCLUTRDatasetReader:
    args: Dict = dict(SAMPLING, seed=0, shuffle_buffer_size=0)
    args.update(kwargs)
    return DeCLUTRDatasetReader(tokenizer, **args)


def inner_ids(field: TextField) -> List[int]:
    """The ids between the special tokens, after checking that those are there."""
    tokens = field.tokens
    assert [tokens[0].text, tokens[-1].text] == ["<s>", "</s>"]
    return [token.text_id for token in tokens[1:-1]]  # type: ignore[misc]


def field_ids(instance: Instance, name: str) -> List[List[int]]:
    field = instance[name]
    assert isinstance(field, ListField)
    return [inner_ids(text_field) for text_field in field.field_list]  # type: ignore[arg-type]


def occurrences(part: List[int], whole: List[int]) -> List[int]:
    """Every offset at which `part` is a contiguous slice of `whole`."""
    return [i for i in range(len(whole) - len(part) + 1) if whole[i : i + len(part)] == part]


def source_document(instance: Instance, doc_ids: List[List[int]]) -> int:
    """The one document that holds the instance's first anchor."""
    anchor = field_ids(instance, "anchors")[0]
    key = f" {' '.join(map(str, anchor))} "
    matches = [i for i, ids in enumerate(doc_ids) if key in f" {' '.join(map(str, ids))} "]
    assert len(matches) == 1, matches
    return matches[0]


def whole_text_document(instance: Instance, doc_ids: List[List[int]], max_length: int) -> int:
    """The document an unsampled instance holds (it starts with the document's first tokens)."""
    field = instance["anchors"]
    assert isinstance(field, TextField)
    ids = inner_ids(field)
    matches = [i for i, doc in enumerate(doc_ids) if doc[:max_length] == ids]
    assert len(matches) == 1, matches
    return matches[0]


def write_documents(path: Path, texts: List[str]) -> Path:
    lines = [json.dumps({"text": text}) for text in texts] if ".jsonl" in path.name else texts
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize("strategy", [None, "adjacent", "subsuming"])
def test_instances_hold_anchor_and_positive_slices_of_their_document(tokenizer, doc_ids, strategy):
    # Given a reader sampling 2 anchors with 3 positives each, keeping the file order
    reader = make_reader(tokenizer, num_positives=3, sampling_strategy=strategy)
    # When the fixture documents are read
    instances = list(reader.read(DOCUMENTS))
    # Then there is one instance per document
    assert len(instances) == len(doc_ids)
    for instance, ids in zip(instances, doc_ids):
        anchors, positives = field_ids(instance, "anchors"), field_ids(instance, "positives")
        # With num_anchors anchors and num_anchors * num_positives positives
        assert (len(anchors), len(positives)) == (2, 6)
        anchor_spans = []
        for anchor in anchors:
            # Each a contiguous slice of the document, of an allowed length, wrapped in <s> </s>
            assert 16 <= len(anchor) <= 64
            (start,) = occurrences(anchor, ids)
            anchor_spans.append((start, start + len(anchor)))
        assert anchor_spans[0][1] <= anchor_spans[1][0] or anchor_spans[1][1] <= anchor_spans[0][0]
        for index, positive in enumerate(positives):
            assert 16 <= len(positive) <= 64
            starts = occurrences(positive, ids)
            assert starts
            # And positives i * 3 to i * 3 + 2 relate to anchor i as the strategy says
            anchor_start, anchor_end = anchor_spans[index // 3]
            if strategy is None:
                assert any(anchor_start - len(positive) <= s <= anchor_end for s in starts)
            elif strategy == "subsuming":
                assert any(anchor_start <= s <= anchor_end - len(positive) for s in starts)
            else:
                assert any(s + len(positive) == anchor_start or s == anchor_end for s in starts)


def test_instances_index_to_the_documents_token_ids(tokenizer, doc_ids):
    # Given an instance read from the first fixture document
    reader = make_reader(tokenizer)
    instance = next(iter(reader.read(DOCUMENTS)))
    # When it is indexed and tensorized
    instance.index_fields(Vocabulary())
    tensors = instance.as_tensor_dict()
    # Then every anchor's ids are <s>, a slice of the document, </s>
    hf_tokenizer = tokenizer.tokenizer
    for row, mask in zip(
        tensors["anchors"]["tokens"]["token_ids"], tensors["anchors"]["tokens"]["mask"]
    ):
        ids = row[mask].tolist()
        assert ids[0] == hf_tokenizer.bos_token_id and ids[-1] == hf_tokenizer.eos_token_id
        assert occurrences(ids[1:-1], doc_ids[0])


def test_spans_are_truncated_to_max_length(tokenizer, doc_ids):
    # Given spans of at least 16 tokens and text fields of at most 10
    reader = make_reader(tokenizer, max_length=10)
    # When the documents are read
    instances = list(reader.read(DOCUMENTS))
    # Then every span keeps its first 10 tokens, still a slice of its document
    for instance, ids in zip(instances, doc_ids):
        for span in field_ids(instance, "anchors") + field_ids(instance, "positives"):
            assert len(span) == 10
            assert occurrences(span, ids)


@pytest.mark.parametrize("max_length, expected_length", [(None, 510), (50, 50)])
def test_without_sampling_an_instance_is_the_whole_text_truncated(
    tokenizer, doc_ids, max_length, expected_length
):
    # Given a reader with sampling off
    reader = DeCLUTRDatasetReader(tokenizer, max_length=max_length)
    # When the documents are read
    instances = list(reader.read(DOCUMENTS))
    # Then each instance is one TextField of the document's first max_length tokens
    assert len(instances) == len(doc_ids)
    for instance, ids in zip(instances, doc_ids):
        assert list(instance.fields) == ["anchors"]
        assert isinstance(instance["anchors"], TextField)
        assert inner_ids(instance["anchors"]) == ids[:expected_length]
        assert len(ids) > expected_length


def test_no_sample_switches_sampling_off_inside_the_block_only(tokenizer, doc_ids):
    # Given a sampling reader
    reader = make_reader(tokenizer, max_length=40)
    # When it reads inside no_sample()
    with reader.no_sample():
        unsampled = list(reader.read(DOCUMENTS))
    # Then whole texts come back
    assert [inner_ids(i["anchors"]) for i in unsampled] == [ids[:40] for ids in doc_ids]
    # And after the block it samples again
    assert "positives" in next(iter(reader.read(DOCUMENTS))).fields


@pytest.mark.parametrize("name", ["docs.jsonl", "docs.txt.gz", "docs.jsonl.gz"])
def test_text_jsonl_and_gzip_inputs_give_the_same_instances(tokenizer, texts, tmp_path, name):
    # Given the fixture documents in another format, and two readers with the same seed
    path = write_documents(tmp_path / name, texts)
    # When both formats are read
    plain = list(make_reader(tokenizer, shuffle_buffer_size=4).read(DOCUMENTS))
    other = list(make_reader(tokenizer, shuffle_buffer_size=4).read(path))
    # Then they give the same instances
    assert len(other) == len(plain) == len(texts)
    assert [field_ids(i, "anchors") for i in other] == [field_ids(i, "anchors") for i in plain]


def test_empty_and_too_short_documents_are_skipped_counted_and_logged(
    tokenizer, texts, tmp_path, caplog
):
    # Given documents mixed with 2 empty lines and 2 documents under 256 tokens
    short = ["Too short.", texts[0][:300]]
    assert all(len(token_ids(tokenizer, text)) < 256 for text in short)
    lines = [texts[0], "", short[0], texts[1], "   ", texts[2], short[1], texts[3]]
    path = write_documents(tmp_path / "docs.txt", lines)
    reader = make_reader(tokenizer)
    # When the file is read
    with caplog.at_level(logging.INFO, logger=READER_LOGGER):
        instances = list(reader.read(path))
    # Then only the long documents become instances, and the skips are counted
    assert len(instances) == 4
    assert reader.counts == {"lines": 8, "empty": 2, "too_short": 2, "instances": 4}
    # And logged
    assert (
        f"Read {path}: 8 lines, 4 instances; skipped 2 empty lines and 2 documents shorter than "
        "256 tokens." in caplog.messages
    )


def test_a_file_without_any_long_enough_document_fails_with_a_helpful_message(
    tokenizer, texts, tmp_path
):
    # Given a file whose documents are all shorter than the 256 tokens sampling needs
    short = [texts[0][:200], "", texts[1][:600], texts[2][:100]]
    longest = max(len(token_ids(tokenizer, text)) for text in short)
    assert 0 < longest < 256
    path = write_documents(tmp_path / "short.txt", short)
    reader = make_reader(tokenizer)
    # When / Then reading it fails naming the minimum, the file and the longest document
    message = (
        re.escape(f"No document in {path} is long enough")
        + ".*at least 256 subword tokens"
        + re.escape(" (2 * num_anchors * max_span_len = 2 * 2 * 64)")
        + f".*the longest has {longest}\\."
    )
    with pytest.raises(ValueError, match=message):
        list(reader.read(path))


def test_invalid_utf8_propagates_with_file_and_line(tokenizer, texts, tmp_path):
    # Given a text file whose third line is not UTF-8
    path = tmp_path / "docs.txt"
    path.write_bytes((texts[0] + "\n" + texts[1] + "\n").encode() + b"caf\xe9\n")
    # When / Then reading it fails naming the file and line
    with pytest.raises(DocumentFormatError, match=re.escape(f"{path}, line 3: invalid UTF-8")):
        list(make_reader(tokenizer).read(path))


def test_invalid_json_propagates_with_file_and_line(tokenizer, texts, tmp_path):
    # Given a JSON lines file whose second line is not JSON
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps({"text": texts[0]}) + "\n{text: oops}\n", encoding="utf-8")
    # When / Then reading it fails naming the file and line
    with pytest.raises(DocumentFormatError, match=re.escape(f"{path}, line 2: invalid JSON")):
        list(make_reader(tokenizer).read(path))


def read_shards(readers, doc_ids, max_length=32) -> List[List[int]]:
    """The documents each reader's shard holds, read whole and in file order."""
    shards = []
    for reader in readers:
        with reader.no_sample():
            instances = list(reader.read(DOCUMENTS))
        shards.append([whole_text_document(i, doc_ids, max_length) for i in instances])
    return shards


def assert_partition(shards: List[List[int]], num_documents: int) -> None:
    flat = [document for shard in shards for document in shard]
    assert all(shards), shards  # every shard gets documents
    assert sorted(flat) == list(range(num_documents)), shards  # each document exactly once


def test_data_loader_workers_read_disjoint_shards_covering_the_file(tokenizer, doc_ids):
    # Given two readers, as in two data-loader workers
    readers = [make_reader(tokenizer, max_length=32) for _ in range(2)]
    for worker_id, reader in enumerate(readers):
        reader._set_worker_info(WorkerInfo(2, worker_id))
    # When each reads the file
    shards = read_shards(readers, doc_ids)
    # Then every document is read by exactly one worker
    assert_partition(shards, len(doc_ids))


def test_distributed_ranks_read_disjoint_shards_covering_the_file(tokenizer, doc_ids):
    # Given two readers, as on two distributed ranks
    readers = [make_reader(tokenizer, max_length=32) for _ in range(2)]
    for rank, reader in enumerate(readers):
        reader._set_distributed_info(DistributedInfo(2, rank))
    # When each reads the file
    shards = read_shards(readers, doc_ids)
    # Then every document is read by exactly one rank
    assert_partition(shards, len(doc_ids))
    # And each rank's count_instances matches what it read
    assert [reader.count_instances(str(DOCUMENTS)) for reader in readers] == list(map(len, shards))


def test_ranks_and_workers_together_partition_the_file(tokenizer, doc_ids):
    # Given 2 ranks with 2 data-loader workers each, sampling with a shuffle buffer
    readers = []
    for rank, worker_id in itertools.product(range(2), range(2)):
        reader = make_reader(tokenizer, shuffle_buffer_size=2)
        reader._set_distributed_info(DistributedInfo(2, rank))
        reader._set_worker_info(WorkerInfo(2, worker_id))
        readers.append(reader)
    # When each reads the file
    shards = [[source_document(i, doc_ids) for i in reader.read(DOCUMENTS)] for reader in readers]
    # Then every document is sampled from by exactly one of the four
    assert_partition(shards, len(doc_ids))
    assert sum(reader.counts["instances"] for reader in readers) == len(doc_ids)


def test_multiprocess_data_loader_yields_each_usable_document_once(
    tokenizer, texts, doc_ids, tmp_path
):
    # Given a file with empty lines and too-short documents, and a streaming loader with 2 workers
    lines = texts[:6] + ["", "Too short."] + texts[6:] + ["", texts[0][:100]]
    path = write_documents(tmp_path / "docs.txt", lines)
    reader = make_reader(tokenizer, shuffle_buffer_size=3)
    loader = MultiProcessDataLoader(
        reader, str(path), batch_size=2, num_workers=2, max_instances_in_memory=4
    )
    # When the loader goes through the file
    instances = list(loader.iter_instances())
    # Then every long enough document gives exactly one instance
    assert sorted(source_document(i, doc_ids) for i in instances) == list(range(len(doc_ids)))
    assert reader.count_instances(str(path)) == len(doc_ids)


@pytest.mark.parametrize("max_instances", [None, 5])
def test_count_instances_per_worker_matches_each_workers_read(
    tokenizer, texts, tmp_path, max_instances
):
    # Given a file with empty lines and too-short documents, 2 ranks of 3 data-loader workers
    lines = texts[:5] + ["", "Too short."] + texts[5:] + ["Too short."]
    path = str(write_documents(tmp_path / "docs.txt", lines))
    for rank in range(2):
        readers = [make_reader(tokenizer, max_instances=max_instances) for _ in range(3)]
        for worker_id, reader in enumerate(readers):
            reader._set_distributed_info(DistributedInfo(2, rank))
            reader._set_worker_info(WorkerInfo(3, worker_id))
        # When each worker reads its part of the rank's shard
        reads = [len(list(reader.read(path))) for reader in readers]
        # Then the rank's reader counts as many per worker
        counter = make_reader(tokenizer, max_instances=max_instances)
        counter._set_distributed_info(DistributedInfo(2, rank))
        assert counter.count_instances_per_worker(path, num_workers=3) == reads
        assert counter.count_instances(path) == sum(reads)


def test_a_repeated_pass_of_an_epoch_samples_new_spans_reproducibly(tokenizer):
    # Given a reader set to epoch 1, and the same reader set to epoch 1's first repeat
    def spans(epoch: int, repeat: int) -> List[List[int]]:
        reader = make_reader(tokenizer)
        reader.set_epoch(epoch, repeat)
        return [field_ids(instance, "anchors")[0] for instance in reader.read(DOCUMENTS)]

    # When / Then the repeat samples other spans, each pass reproducibly
    assert spans(1, 0) == spans(1, 0)
    assert spans(1, 1) == spans(1, 1)
    assert spans(1, 1) != spans(1, 0)
    assert spans(1, 1) != spans(2, 0)


def test_shuffle_buffer_reorders_documents_but_keeps_each_once(tokenizer, doc_ids):
    # Given two sampling readers, one keeping the file order and one shuffling
    ordered = make_reader(tokenizer, shuffle_buffer_size=0)
    shuffled = make_reader(tokenizer, shuffle_buffer_size=4)
    # When both read the file
    ordered_sources = [source_document(i, doc_ids) for i in ordered.read(DOCUMENTS)]
    shuffled_sources = [source_document(i, doc_ids) for i in shuffled.read(DOCUMENTS)]
    # Then the first keeps the file order, the second not, and both read every document once
    assert ordered_sources == list(range(len(doc_ids)))
    assert shuffled_sources != ordered_sources
    assert sorted(shuffled_sources) == ordered_sources


def test_shuffling_is_never_applied_without_sampling(tokenizer, doc_ids):
    # Given a shuffling reader with sampling off
    reader = DeCLUTRDatasetReader(tokenizer, max_length=32, shuffle_buffer_size=4, seed=0)
    # When / Then it reads in file order
    assert read_shards([reader], doc_ids) == [list(range(len(doc_ids)))]


def test_reading_streams_a_large_file(tokenizer, texts, tmp_path):
    # Given a 20,000-line file whose last line is not UTF-8
    words = " ".join(texts).split()
    lines = [" ".join(words[i % 1000 : i % 1000 + 40]) for i in range(20_000)]
    path = tmp_path / "big.txt"
    path.write_bytes("".join(line + "\n" for line in lines).encode() + b"\xff\n")
    reader = make_reader(
        tokenizer, num_anchors=1, max_span_len=8, min_span_len=2, shuffle_buffer_size=8
    )
    # When only the first instances are taken
    first = list(itertools.islice(reader.read(path), 3))
    # Then they come without the last line having been read, having read only a buffer's worth
    assert len(first) == 3
    assert reader.counts["lines"] <= 3 + 8


def test_count_instances_matches_a_full_read(tokenizer, texts, tmp_path):
    # Given a file with empty lines and too-short documents
    lines = ["", texts[0], "Too short.", texts[1], "", texts[2], texts[3][:50]]
    path = str(write_documents(tmp_path / "docs.txt", lines))
    sampling, whole = make_reader(tokenizer), DeCLUTRDatasetReader(tokenizer)
    # When / Then count_instances says how many instances a read yields
    assert sampling.count_instances(path) == len(list(sampling.read(path))) == 3
    assert whole.count_instances(path) == len(list(whole.read(path))) == 5


def test_max_instances_counts_instances_not_lines(tokenizer, texts, tmp_path):
    # Given a file starting with an empty line and a too-short document, and max_instances=3
    lines = ["", "Too short.", texts[0], texts[1], texts[2], texts[3]]
    path = str(write_documents(tmp_path / "docs.txt", lines))
    reader = make_reader(tokenizer, max_instances=3)
    # When / Then a read yields 3 instances, as count_instances says
    assert len(list(reader.read(path))) == reader.count_instances(path) == 3


def test_max_instances_is_shared_between_ranks_as_count_instances_says(tokenizer, doc_ids):
    # Given max_instances=5 and two distributed ranks
    readers = [make_reader(tokenizer, max_instances=5) for _ in range(2)]
    for rank, reader in enumerate(readers):
        reader._set_distributed_info(DistributedInfo(2, rank))
    # When each reads the file
    counts = [len(list(reader.read(DOCUMENTS))) for reader in readers]
    # Then the ranks read 3 and 2 instances, as their count_instances say
    assert counts == [3, 2]
    assert [reader.count_instances(str(DOCUMENTS)) for reader in readers] == counts


def test_same_seed_gives_same_instances_and_other_seeds_differ(tokenizer):
    # Given readers with the same seed and one with another
    first, second = make_reader(tokenizer, seed=7), make_reader(tokenizer, seed=7)
    other = make_reader(tokenizer, seed=8)
    # When each reads the file
    spans = [
        [field_ids(i, "anchors") + field_ids(i, "positives") for i in reader.read(DOCUMENTS)]
        for reader in (first, second, other)
    ]
    # Then the same seed gives the same spans, another seed others
    assert spans[0] == spans[1]
    assert spans[0] != spans[2]


def test_every_pass_samples_new_spans(tokenizer):
    # Given a seeded reader
    reader = make_reader(tokenizer)
    # When it reads the file twice
    passes = [[field_ids(i, "anchors") for i in reader.read(DOCUMENTS)] for _ in range(2)]
    # Then the second pass samples other spans from the same documents
    assert len(passes[0]) == len(passes[1])
    assert passes[0] != passes[1]


def test_deterministic_reading_gives_the_same_spans_in_every_epoch_and_shard(tokenizer):
    # Given a deterministic (validation) reader, and the same reader sharded over two ranks
    whole = make_reader(tokenizer, deterministic=True, shuffle_buffer_size=1000)
    ranks = [make_reader(tokenizer, deterministic=True) for _ in range(2)]
    for rank, reader in enumerate(ranks):
        reader._set_distributed_info(DistributedInfo(2, rank))

    def spans(reader):
        return [field_ids(i, "anchors") + field_ids(i, "positives") for i in reader.read(DOCUMENTS)]

    # When the whole reader reads two passes and two explicit epochs
    passes = [spans(whole), spans(whole)]
    whole.set_epoch(5)
    passes.append(spans(whole))
    # Then every pass gives the same spans, in file order despite the shuffle buffer
    assert passes[0] == passes[1] == passes[2]
    # And the two ranks' shards hold exactly those spans, each document's the same
    sharded = spans(ranks[0]) + spans(ranks[1])
    assert sorted(sharded) == sorted(passes[0])
    # And a reader of another seed too: the spans depend on the documents alone
    assert spans(make_reader(tokenizer, deterministic=True, seed=99)) == passes[0]


def test_a_loader_makes_one_read_of_a_training_reader_deterministic(tokenizer):
    # Given a training reader, shared (as allennlp does) by training and validation
    reader = make_reader(tokenizer)

    def spans():
        return [field_ids(i, "anchors") for i in reader.read(DOCUMENTS)]

    reference = spans_of(make_reader(tokenizer, deterministic=True))
    # When a validation loader asks for a deterministic read, between training reads
    reader.set_epoch(0)
    training = spans()
    reader.set_epoch(0, deterministic=True)
    validation = spans()
    reader.set_epoch(1)
    # Then that read gives the deterministic spans, and training sampling resumes after it
    assert validation == reference
    assert spans() not in (training, reference)


def spans_of(reader) -> List:
    return [field_ids(i, "anchors") for i in reader.read(DOCUMENTS)]


def test_text_to_instance_rejects_a_too_short_text(tokenizer):
    # Given a sampling reader
    reader = make_reader(tokenizer)
    # When / Then sampling from a too-short text fails naming the minimum
    with pytest.raises(ValueError, match="too short: sampling needs at least 256"):
        reader.text_to_instance("Too short.")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_anchors=2), "num_positives=None"),
        (dict(SAMPLING, sampling_strategy="overlap"), "sampling_strategy must be one of"),
        (dict(SAMPLING, num_anchors=0), "num_anchors must be at least 1, got 0"),
        (dict(SAMPLING, min_span_len=80), re.escape("max_span_len (64) must be at least")),
        (dict(shuffle_buffer_size=-1), "shuffle_buffer_size must be 0 or more, got -1"),
        (dict(max_length=0), "max_length must be at least 1, got 0"),
        (dict(max_length=-3), "max_length must be at least 1, got -3"),
    ],
)
def test_constructor_rejects_invalid_arguments(tokenizer, kwargs, message):
    # Given / When / Then building the reader fails naming the argument and its value
    with pytest.raises(ConfigurationError, match=message):
        DeCLUTRDatasetReader(tokenizer, **kwargs)


def test_constructor_rejects_a_non_transformer_tokenizer():
    # Given / When / Then a word tokenizer is refused
    with pytest.raises(ConfigurationError, match='needs a "pretrained_transformer" tokenizer'):
        DeCLUTRDatasetReader(WhitespaceTokenizer())


def test_span_fields_hold_the_tokens_allennlps_tokenizer_gives(tokenizer, doc_ids):
    # The reader builds span tokens itself (faster); they must equal allennlp's own.
    from allennlp.data.tokenizers import Token

    reader = make_reader(tokenizer)
    field = reader._text_field(doc_ids[0][:20])
    pieces = tokenizer.tokenizer.convert_ids_to_tokens(doc_ids[0][:20])
    tokens = [Token(text=piece, text_id=i) for piece, i in zip(pieces, doc_ids[0][:20])]
    assert field.tokens == tokenizer.add_special_tokens(tokens)

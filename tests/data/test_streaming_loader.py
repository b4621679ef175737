"""Tests of the "declutr_streaming" data loader: its length, and the exact number of batches it
gives a distributed rank (the two-process run is in tests/models/test_distributed.py)."""

import logging
from typing import List

import pytest
from allennlp.data import Vocabulary
from allennlp.data.dataset_readers.dataset_reader import DistributedInfo
from allennlp.data.tokenizers import PretrainedTransformerTokenizer

from declutr.data.data_loaders import streaming
from declutr.data.data_loaders.streaming import StreamingDataLoader
from declutr.data.dataset_readers import DeCLUTRDatasetReader
from tests import DOCUMENTS


def loader(tiny_model: str, path: str, **kwargs) -> StreamingDataLoader:
    reader = DeCLUTRDatasetReader(
        PretrainedTransformerTokenizer(tiny_model),
        num_anchors=2,
        num_positives=1,
        max_span_len=32,
        min_span_len=8,
        seed=0,
    )
    data_loader = StreamingDataLoader(
        reader, path, batch_size=2, max_instances_in_memory=4, **kwargs
    )
    data_loader.index_with(Vocabulary.empty())
    return data_loader


def first_anchors(batches) -> List[List[int]]:
    return [ids[0].tolist() for batch in batches for ids in batch["anchors"]["tokens"]["token_ids"]]


@pytest.mark.parametrize("num_workers", [0, 2])
def test_length_is_the_number_of_batches_given(tiny_model, tmp_path, num_workers):
    # Given 6 documents: 3 batches of 2; with 2 workers, each batches its 3 on its own: 2 + 2
    path = tmp_path / "docs.txt"
    path.write_text("".join(line + "\n" for line in DOCUMENTS.read_text().splitlines()[:6]))
    data_loader = loader(tiny_model, str(path), num_workers=num_workers)
    # When / Then the loader's length is the number of batches an epoch gives
    assert len(data_loader) == len(list(data_loader)) == (4 if num_workers == 2 else 3)


def test_a_rank_that_runs_out_reads_its_shard_again_with_new_spans(tiny_model):
    # Given a loader over the 12 fixture documents: 6 batches of 2 per pass
    data_loader = loader(tiny_model, str(DOCUMENTS))
    assert len(data_loader) == 6
    # When a rank must give 9 batches in epoch 0 (the other ranks' most)
    batches = list(data_loader._exactly(9, epoch=0))
    # Then it gives 9: the 6 of its pass, then 3 of another pass over its documents with new
    # spans
    assert len(batches) == 9
    first_pass = first_anchors(list(loader(tiny_model, str(DOCUMENTS))))
    anchors = first_anchors(batches)
    assert anchors[:12] == first_pass
    assert not set(map(tuple, anchors[12:])) & set(map(tuple, first_pass))


def test_a_rank_without_usable_documents_fails_naming_the_file(tiny_model, tmp_path):
    # Given rank 1 of 2, whose shard holds only a document too short to sample from
    path = tmp_path / "short.txt"
    path.write_text(DOCUMENTS.read_text().splitlines()[0] + "\nToo short.\n")
    data_loader = loader(tiny_model, str(path))
    data_loader.reader._set_distributed_info(DistributedInfo(2, 1))
    # When / Then a rank that must give batches fails, naming the file
    with pytest.raises(ValueError, match=r"shard of .*short\.txt gives no batch"):
        list(data_loader._exactly(3, epoch=0))


@pytest.mark.parametrize("primary", [True, False])
def test_the_counting_pass_shows_its_progress_and_how_to_skip_it(
    tiny_model, caplog, capsys, monkeypatch, primary
):
    # Given a loader over the 12 fixture documents, on the primary rank or another one
    monkeypatch.setattr(streaming, "is_global_primary", lambda: primary)
    data_loader = loader(tiny_model, str(DOCUMENTS))
    # When it counts its batches
    with caplog.at_level(logging.INFO, logger=streaming.__name__):
        num_batches = len(data_loader)
    # Then the count is unchanged: 6 batches of 2
    assert num_batches == len(list(loader(tiny_model, str(DOCUMENTS)))) == 6
    # And only the primary rank shows a progress bar of the documents counted, with their rate
    progress = capsys.readouterr().err
    assert ("12 documents" in progress and "documents/s" in progress) == primary
    # And the last line logged says how to skip the pass: the count, as batches_per_epoch
    hint = 'To skip this counting pass, set "batches_per_epoch": 6 in this data loader'
    # (of this loader's logger: other loggers may log at INFO too, after tests that set them so)
    loader_records = [record for record in caplog.records if record.name == streaming.__name__]
    assert hint in loader_records[-1].getMessage()

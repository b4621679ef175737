import io

import numpy as np
import pytest
from tqdm import tqdm

from declutr.evaluation.embedding import CHUNK_BATCHES, embed_distinct


def test_each_distinct_text_is_embedded_once(bag_of_words):
    texts = ["a b", "c", "a b", "c", "a b d"]

    table = embed_distinct(bag_of_words, texts)

    embedded = [text for call in bag_of_words.calls for text in call]
    assert sorted(embedded) == ["a b", "a b d", "c"]
    np.testing.assert_array_equal(table(texts), bag_of_words.encode(texts))
    assert table(["c"]).dtype == np.float32
    with pytest.raises(KeyError):
        table(["never embedded"])


def test_chunks_go_longest_first_and_move_the_progress_bar(bag_of_words):
    texts = [" ".join(["w"] * length) for length in range(1, 12)]

    with tqdm(file=io.StringIO()) as progress:
        embed_distinct(bag_of_words, texts, batch_size=1, progress=progress)
        assert progress.total == 11 and progress.n == 11

    assert [len(call) for call in bag_of_words.calls] == [CHUNK_BATCHES, 11 - CHUNK_BATCHES]
    assert bag_of_words.calls[0][0] == texts[-1]


def test_encoders_returning_the_wrong_rows_are_caught():
    class Broken:
        def encode(self, texts, **kwargs):
            return np.zeros((1, 4))

    with pytest.raises(ValueError, match="encode returned 1 rows for 2 texts"):
        embed_distinct(Broken(), ["a", "b"])

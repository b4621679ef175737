"""The harness against a published number: all-MiniLM-L6-v2 on the STS Benchmark test set."""

import pytest

from declutr import Encoder
from declutr.evaluation.embedding import embed_distinct
from declutr.evaluation.runner import score
from declutr.evaluation.tasks import TASKS, texts_of

# sentence-transformers' published STS-B test Spearman of all-MiniLM-L6-v2 (mean pooling, cosine).
REFERENCE = 0.8203


@pytest.mark.slow
def test_minilm_sts_benchmark_test_spearman(shared_dir):
    model = shared_dir / "models" / "all-MiniLM-L6-v2"
    data_dir = shared_dir / "data" / "senteval"
    if not (model / "config.json").is_file() or not (data_dir / "STS/STSBenchmark").is_dir():
        pytest.skip(f"{model} or {data_dir} is absent")
    # Given: "max length 128" as sentence-transformers counts it includes [CLS] and [SEP];
    # Encoder's max_length excludes them. No STS-B sentence is longer than 46 WordPiece tokens,
    # so 126 and 128 give the same vectors.
    encoder = Encoder(model, device="cpu", max_length=128)
    test = {"test": TASKS["STSBenchmark"].read(data_dir)["test"]}  # the dev split is not needed

    result = score("sts_splits", test, embed_distinct(encoder, texts_of(test)))

    assert result["splits"]["test"]["num_pairs"] == 1379
    assert result["spearman"] == pytest.approx(REFERENCE, abs=0.002)

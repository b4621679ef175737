import hashlib
import math

import numpy as np
import pytest

from declutr.evaluation.tasks import (
    GET_DATA,
    STS_SUBSETS,
    TASKS,
    LabelledPairs,
    LabelledTexts,
    MissingTaskDataError,
    SentencePairs,
    UnknownTaskError,
    check_files,
    checksums,
    read_binary,
    read_mrpc,
    read_sick,
    read_sst,
    read_sts_benchmark,
    read_sts_subset,
    read_trec,
    resolve_tasks,
    texts_of,
)


def write(path, text, encoding="utf-8"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def test_sts_subset_keeps_pairs_without_gold_as_nan(tmp_path):
    # Given: SentEval's STS.input (an extra column, as raw STS16 files have) and STS.gs with an
    # empty score
    inputs = write(tmp_path / "STS.input.x.txt", "A  cat\tA dog\tsource\nOne\tTwo\nThree\tFour\n")
    gold = write(tmp_path / "STS.gs.x.txt", "4.2\n\n0\n")

    # When
    pairs = read_sts_subset(inputs, gold)

    # Then: whitespace is normalised, the second pair has no gold score
    assert pairs.first == ["A cat", "One", "Three"] and pairs.second == ["A dog", "Two", "Four"]
    assert pairs.scores[0] == 4.2 and math.isnan(pairs.scores[1]) and pairs.scores[2] == 0.0


def test_sts_subset_errors(tmp_path):
    inputs = write(tmp_path / "STS.input.x.txt", "A\tB\nC\tD\n")
    with pytest.raises(ValueError, match="has 2 lines but .*STS.gs.x.txt has 1"):
        read_sts_subset(inputs, write(tmp_path / "STS.gs.x.txt", "1\n"))
    with pytest.raises(ValueError, match="line 2: 'high' is not a number"):
        read_sts_subset(inputs, write(tmp_path / "STS.gs.x.txt", "1\nhigh\n"))
    no_tab = write(tmp_path / "STS.input.y.txt", "A B\n")
    with pytest.raises(ValueError, match="line 1: expected at least 2 tab-separated fields"):
        read_sts_subset(no_tab, write(tmp_path / "STS.gs.y.txt", "1\n"))


def test_sts_benchmark_reads_columns_5_to_7_and_ignores_sources(tmp_path):
    path = write(
        tmp_path / "sts-test.csv",
        "main-captions\tMSRvid\t2012test\t0024\t2.500\ta girl .\ta boy .\n"
        "main-news\theadlines\t2015\t0001\t5.000\tx\ty\tsource-a\tsource-b\n\n",
    )
    pairs = read_sts_benchmark(path)
    assert pairs.first == ["a girl .", "x"] and pairs.second == ["a boy .", "y"]
    np.testing.assert_array_equal(pairs.scores, [2.5, 5.0])
    with pytest.raises(ValueError, match="line 1: expected at least 7 tab-separated fields"):
        read_sts_benchmark(write(tmp_path / "bad.csv", "a\tb\t1.0\n"))


def test_sick_skips_the_header(tmp_path):
    path = write(
        tmp_path / "SICK_trial.txt",
        "pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment\n"
        "4\tThe young boys\tThere is no boy\t3.6\tCONTRADICTION\n",
    )
    pairs = read_sick(path)
    assert (pairs.first, pairs.second) == (["The young boys"], ["There is no boy"])
    np.testing.assert_array_equal(pairs.scores, [3.6])


def test_binary_reads_latin_1_positive_then_negative(tmp_path):
    # Given: Latin-1 bytes (é is 0xE9), which are not valid UTF-8, and a blank line
    positive = write(tmp_path / "rt-polarity.pos", "un film réussi \nfine\n\n", "latin-1")
    negative = write(tmp_path / "rt-polarity.neg", "dull\n", "latin-1")

    data = read_binary(positive, negative)

    assert data.texts == ["un film réussi", "fine", "dull"]
    np.testing.assert_array_equal(data.labels, [1, 1, 0])


def test_sst(tmp_path):
    data = read_sst(write(tmp_path / "sentiment-dev", "a fine film\t1\nawful\t0\n"))
    assert data.texts == ["a fine film", "awful"]
    np.testing.assert_array_equal(data.labels, [1, 0])
    with pytest.raises(ValueError, match="line 1: 'pos' is not a number"):
        read_sst(write(tmp_path / "bad", "a fine film\tpos\n"))


def test_trec_uses_the_coarse_class(tmp_path):
    path = write(
        tmp_path / "TREC_10.label",
        "NUM:dist How far is it ?\nHUM:desc Who was  Galileo ?\n",
        "latin-1",
    )
    data = read_trec(path)
    assert data.texts == ["How far is it ?", "Who was Galileo ?"]
    np.testing.assert_array_equal(data.labels, [5, 3])
    with pytest.raises(ValueError, match="line 1: expected 'CLASS:fine question'"):
        read_trec(write(tmp_path / "bad.label", "COLOR:x What ?\n"))


def test_mrpc_skips_the_header(tmp_path):
    path = write(
        tmp_path / "msr_paraphrase_test.txt",
        "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
        "1\t1089874\t1089925\tPCCW 's chief\tCurrent Chief\n"
        "0\t3019446\t3019327\tThe dollar fell\tStocks rose\n",
    )
    data = read_mrpc(path)
    assert data.first == ["PCCW 's chief", "The dollar fell"]
    assert data.second == ["Current Chief", "Stocks rose"]
    np.testing.assert_array_equal(data.labels, [1, 0])


def test_parts_check_their_lengths():
    with pytest.raises(ValueError, match="Columns of different lengths"):
        SentencePairs(["a"], ["b", "c"], np.array([1.0]))
    with pytest.raises(ValueError, match="Columns of different lengths"):
        LabelledTexts(["a"], np.array([1, 0]))
    with pytest.raises(ValueError, match="Columns of different lengths"):
        LabelledPairs(["a"], ["b"], np.array([]))


def test_every_task_reads_the_senteval_layout(senteval_dir):
    for name, task in TASKS.items():
        data = task.read(senteval_dir)
        assert data, name
        assert all(texts_of(data)), name
    sts12 = TASKS["STS12"].read(senteval_dir)
    assert list(sts12) == list(STS_SUBSETS["STS12"])
    assert TASKS["STS12"].files[:2] == [
        "STS/STS12-en-test/STS.input.MSRpar.txt",
        "STS/STS12-en-test/STS.gs.MSRpar.txt",
    ]
    assert list(TASKS["STSBenchmark"].read(senteval_dir)) == ["dev", "test"]
    assert list(TASKS["SST2"].read(senteval_dir)) == ["train", "dev", "test"]
    assert list(TASKS["TREC"].read(senteval_dir)) == ["train", "test"]
    mr = TASKS["MR"].read(senteval_dir)["all"]
    assert isinstance(mr, LabelledTexts) and sorted(set(mr.labels.tolist())) == [0, 1]


def test_resolve_tasks_ignores_case_and_repeats():
    assert resolve_tasks(["stsbenchmark", "MR", " mr", "STS12"]) == ["STSBenchmark", "MR", "STS12"]


@pytest.mark.parametrize("names", [["MR", "STS-B", "Foo"], []])
def test_resolve_tasks_lists_the_valid_names(names):
    with pytest.raises(UnknownTaskError, match="valid: STS12, STS13.*SICKRelatedness.*MRPC"):
        resolve_tasks(names)
    if names:
        with pytest.raises(UnknownTaskError, match="Unknown task\\(s\\) 'STS-B', 'Foo'"):
            resolve_tasks(names)


def test_missing_files_are_named_with_where_to_get_them(tmp_path):
    # Given: MR's positive file but not its negative one, and no TREC at all
    write(tmp_path / "MR" / "rt-polarity.pos", "fine\n")

    with pytest.raises(MissingTaskDataError) as raised:
        check_files(tmp_path, ["MR", "TREC"])

    message = str(raised.value)
    assert f"MR: {tmp_path / 'MR' / 'rt-polarity.neg'}" in message
    assert "rt-polarity.pos" not in message
    assert f"TREC: {tmp_path / 'TREC' / 'train_5500.label'}" in message
    assert GET_DATA in message and "get_transfer_data.bash" in message
    with pytest.raises(MissingTaskDataError, match="does not exist"):
        check_files(tmp_path / "absent", ["MR"])


def test_checksums_are_sha256_by_relative_path(senteval_dir):
    sums = checksums(senteval_dir, "TREC")
    assert list(sums) == ["TREC/train_5500.label", "TREC/TREC_10.label"]
    expected = hashlib.sha256((senteval_dir / "TREC" / "TREC_10.label").read_bytes()).hexdigest()
    assert sums["TREC/TREC_10.label"] == expected

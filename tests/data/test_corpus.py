import bz2
import gzip
import io
import json
import lzma
import tarfile
import tracemalloc
from pathlib import Path
from typing import Dict, List

import pytest
from allennlp.data.tokenizers import PretrainedTransformerTokenizer
from transformers import AutoTokenizer
from typer.testing import CliRunner, Result

from declutr.cli import app
from declutr.data import DeCLUTRDatasetReader
from declutr.data.corpus import prepare_corpus, settings_from_config
from tests import CONFIG_ROOT, DOCUMENTS, MODEL_VARIABLE


def run(*args: object) -> Result:
    """`declutr prepare-corpus INPUT... --output OUTPUT [OPTIONS]`, given `INPUT... OUTPUT
    [OPTIONS]`: the last path before the first option is the output."""
    words = [str(arg) for arg in args]
    first = next((i for i, word in enumerate(words) if word.startswith("--")), len(words))
    paths, options = words[:first], words[first:]
    arguments = ["prepare-corpus", *paths[:-1], "--output", paths[-1], *options, "--no-progress"]
    return CliRunner().invoke(app, arguments)


def write_tar(path: Path, members: Dict[str, bytes], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def output_lines(path: Path) -> List[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_text_files_and_folders(tmp_path):
    (tmp_path / "a.txt").write_text("First  document,\n\ton two lines.\n", encoding="utf-8")
    folder = tmp_path / "folder"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text("Second document.", encoding="utf-8")
    (folder / "sub" / "c.txt").write_text("Third document.\n", encoding="utf-8")
    (tmp_path / "d.txt.gz").write_bytes(gzip.compress(b"Fourth, gzipped."))

    result = run(tmp_path / "a.txt", folder, tmp_path / "d.txt.gz", tmp_path / "out.txt")

    assert result.exit_code == 0, result.output
    assert output_lines(tmp_path / "out.txt") == [
        "First document, on two lines.",
        "Second document.",
        "Third document.",
        "Fourth, gzipped.",
    ]
    assert "Read 4 documents: kept 4, dropped 0" in result.output


def test_one_document_per_line_and_lowercase(tmp_path):
    (tmp_path / "in.txt").write_text("One   Line\n\nTwo LINES\n", encoding="utf-8")

    result = run(tmp_path / "in.txt", tmp_path / "out.txt", "--text-unit", "line", "--lowercase")

    assert result.exit_code == 0, result.output
    assert output_lines(tmp_path / "out.txt") == ["one line", "two lines"]
    assert "Read 3 documents: kept 2, dropped 1 (1 empty" in result.output


def test_json_lines_in_and_out(tmp_path):
    records = [{"text": "A  json\ndocument."}, {"text": "Another."}, {"id": 3}]
    lines = [json.dumps(record) for record in records] + ["", "{not json"]
    (tmp_path / "in.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = run(tmp_path / "in.jsonl", tmp_path / "out.jsonl")

    assert result.exit_code == 0, result.output
    written = [json.loads(line)["text"] for line in output_lines(tmp_path / "out.jsonl")]
    assert written == ["A json document.", "Another."]
    assert "kept 2, dropped 2 (0 empty, 0 shorter than 1 tokens" in result.output
    # Decoded as the reader decodes them (declutr.data.documents.decode_line)
    assert 'in.jsonl, line 3: expected a JSON object with a string "text" field' in result.output
    assert "in.jsonl, line 5: invalid JSON" in result.output


def test_tar_archive_with_an_unreadable_member(tmp_path):
    archive = write_tar(
        tmp_path / "docs.tar",
        {"docs/1.txt": b"One from a tar.", "docs/bad.txt": b"bad \xff byte", "docs/2.txt": b"Two."},
    )

    result = run(archive, tmp_path / "out.txt")

    assert result.exit_code == 0, result.output
    assert output_lines(tmp_path / "out.txt") == ["One from a tar.", "Two."]
    assert (
        "kept 2, dropped 1 (0 empty, 0 shorter than 1 tokens counted by whitespace, 1 unreadable)"
        in result.output
    )
    assert f"skipped {archive}:docs/bad.txt: invalid UTF-8 at byte 4" in result.output


def test_openwebtext_style_xz_archives(tmp_path):
    # Given: OpenWebText's layout, a .tar.xz of .xz archives of .txt documents, plus a plain
    # xz-compressed text file
    inner = {}
    for subset in range(2):
        members = {f"{subset}-{i}.txt": f"Web page {subset}-{i}.\n".encode() for i in range(3)}
        path = write_tar(tmp_path / f"subset{subset}_data.xz", members, mode="w:xz")
        inner[f"openwebtext/{path.name}"] = path.read_bytes()
    outer = write_tar(tmp_path / "openwebtext.tar.xz", inner, mode="w:xz")
    (tmp_path / "plain.txt.xz").write_bytes(lzma.compress(b"Plain xz text."))

    result = run(outer, tmp_path / "plain.txt.xz", tmp_path / "out.txt")

    assert result.exit_code == 0, result.output
    expected = [f"Web page {s}-{i}." for s in range(2) for i in range(3)] + ["Plain xz text."]
    assert output_lines(tmp_path / "out.txt") == expected


def test_truncated_archive_is_reported(tmp_path):
    members = {f"{i}.txt": f"Document {i} ".encode() * 200 for i in range(20)}
    data = write_tar(tmp_path / "whole.tar.xz", members, mode="w:xz").read_bytes()
    (tmp_path / "cut.tar.xz").write_bytes(data[: len(data) // 2])
    (tmp_path / "ok.txt").write_text("A good document.", encoding="utf-8")

    result = run(tmp_path / "cut.tar.xz", tmp_path / "ok.txt", tmp_path / "out.txt")

    assert result.exit_code == 0, result.output
    assert output_lines(tmp_path / "out.txt")[-1] == "A good document."
    assert "Files or archives cut short (unreadable): 1." in result.output
    assert "cut.tar.xz (EOFError: Compressed file ended" in result.output


def test_strict_fails_on_the_first_unreadable_document(tmp_path):
    archive = write_tar(tmp_path / "docs.tar", {"bad.txt": b"\xff"})

    result = run(archive, tmp_path / "out.txt", "--strict")

    assert result.exit_code == 1
    assert "Cannot read" in result.output and "docs.tar:bad.txt" in result.output


def test_min_length_counts_subword_tokens_of_the_reader(tmp_path, tiny_model):
    # Given: documents around the threshold in the tiny model's own tokens
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    words = DOCUMENTS.read_text(encoding="utf-8").split()
    documents = [" ".join(words[:n]) for n in (5, 10, 20, 40)]
    lengths = [len(tokenizer(d, add_special_tokens=False)["input_ids"]) for d in documents]
    min_length = sorted(lengths)[2]
    (tmp_path / "in.txt").write_text("\n".join(documents) + "\n", encoding="utf-8")

    result = run(
        tmp_path / "in.txt",
        tmp_path / "out.txt",
        "--text-unit",
        "line",
        "--min-length",
        min_length,
        "--tokenizer",
        tiny_model,
    )

    assert result.exit_code == 0, result.output
    kept = [d for d, length in zip(documents, lengths) if length >= min_length]
    assert output_lines(tmp_path / "out.txt") == kept
    assert f"2 shorter than {min_length} tokens counted by {tiny_model}" in result.output


def test_min_length_from_config_matches_the_reader(tmp_path, tiny_model, monkeypatch):
    # Given: the fixture documents, some cut short
    documents = DOCUMENTS.read_text(encoding="utf-8").splitlines()
    lines = documents + [document[:300] for document in documents[:4]]
    (tmp_path / "in.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setenv(MODEL_VARIABLE, tiny_model)  # the quickstart config's encoder
    overrides = {"dataset_reader.max_span_len": 32}

    # When: the minimum and the tokenizer come from the training config
    result = run(
        tmp_path / "in.txt",
        tmp_path / "out.txt",
        "--text-unit",
        "line",
        "--config",
        CONFIG_ROOT / "quickstart.jsonnet",
        "--overrides",
        json.dumps(overrides),
    )

    # Then: 2 * 2 * 32 tokens, and the reader finds no document too short
    assert result.exit_code == 0, result.output
    assert f"4 shorter than 128 tokens counted by {tiny_model}" in result.output
    reader = DeCLUTRDatasetReader(
        PretrainedTransformerTokenizer(tiny_model),
        num_anchors=2,
        num_positives=2,
        max_span_len=32,
        min_span_len=8,
        seed=0,
    )
    instances = list(reader.read(str(tmp_path / "out.txt")))
    assert len(instances) == len(documents) and reader.counts["too_short"] == 0


def test_config_and_min_length_conflict(tmp_path):
    (tmp_path / "in.txt").write_text("text", encoding="utf-8")
    config = CONFIG_ROOT / "quickstart.jsonnet"
    result = run(tmp_path / "in.txt", tmp_path / "o.txt", "--config", config, "--min-length", 3)
    assert result.exit_code == 1 and "Give --min-length or --config, not both" in result.output


def test_missing_input(tmp_path):
    result = run(tmp_path / "missing.txt", tmp_path / "out.txt")
    assert result.exit_code == 1 and "missing.txt does not exist" in result.output
    assert not (tmp_path / "out.txt").exists()


def _make_empty(kind: str, tmp_path: Path) -> Path:
    if kind == "file":
        (tmp_path / "in.txt").write_text("", encoding="utf-8")
        return tmp_path / "in.txt"
    if kind == "folder":
        (tmp_path / "in").mkdir()
        return tmp_path / "in"
    return write_tar(tmp_path / "in.tar", {})


@pytest.mark.parametrize("kind", ["file", "folder", "tar"])
def test_empty_input(kind, tmp_path):
    path = _make_empty(kind, tmp_path)

    result = run(path, tmp_path / "out.txt", "--text-unit", "line")

    assert result.exit_code == 1
    assert f"No documents found in {path}" in result.output
    assert not (tmp_path / "out.txt").exists()


def test_nothing_long_enough(tmp_path):
    (tmp_path / "in.txt").write_text("too short", encoding="utf-8")
    result = run(tmp_path / "in.txt", tmp_path / "out.txt", "--min-length", 5)
    assert result.exit_code == 1
    assert "1 shorter than 5 tokens" in result.output and "was kept" in result.output


def test_output_is_protected(tmp_path):
    (tmp_path / "in.txt").write_text("text", encoding="utf-8")
    (tmp_path / "out.txt").write_text("old", encoding="utf-8")
    exists = run(tmp_path / "in.txt", tmp_path / "out.txt")
    assert exists.exit_code == 1 and "exists; pass --force" in exists.output
    inside = run(tmp_path, tmp_path / "new.txt")
    assert inside.exit_code == 1 and "inside the input folder" in inside.output
    assert run(tmp_path / "in.txt", tmp_path / "out.txt", "--force").exit_code == 0
    assert output_lines(tmp_path / "out.txt") == ["text"]


def _peak_memory(path: Path, output: Path) -> int:
    tracemalloc.start()
    counts = prepare_corpus([path], output, min_length=3, progress=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert counts.kept > 0
    return peak


def test_memory_does_not_grow_with_the_input(tmp_path):
    document = DOCUMENTS.read_text(encoding="utf-8").splitlines()[0].encode()
    small = write_tar(tmp_path / "s.tar.gz", {f"{i}.txt": document for i in range(50)}, "w:gz")
    large = write_tar(tmp_path / "l.tar.gz", {f"{i}.txt": document for i in range(800)}, "w:gz")
    assert _peak_memory(large, tmp_path / "l.txt") < 1.5 * _peak_memory(small, tmp_path / "s.txt")


def test_compression_is_recognised_by_the_name_only(tmp_path):
    # Given gzip data named .txt, plain text named .gz and .xz, a bzip2 file named .bz2, and a
    # gzipped member named .txt in a tar archive
    (tmp_path / "gzipped.txt").write_bytes(gzip.compress(b"Hidden gzip."))
    (tmp_path / "plain.txt.gz").write_text("Plain text, named gz.", encoding="utf-8")
    (tmp_path / "plain.txt.xz").write_text("Plain text, named xz.", encoding="utf-8")
    (tmp_path / "real.txt.bz2").write_bytes(bz2.compress(b"Real bzip2."))
    archive = write_tar(tmp_path / "docs.tar", {"in.txt": gzip.compress(b"Gzip member.")})
    inputs = ["gzipped.txt", "plain.txt.gz", "plain.txt.xz", "real.txt.bz2", "docs.tar"]

    # When they are prepared
    result = run(*[tmp_path / name for name in inputs], tmp_path / "out.txt")

    # Then only the file named as compressed is decompressed; the others are reported, each
    # with the real problem
    assert result.exit_code == 0, result.output
    assert output_lines(tmp_path / "out.txt") == ["Real bzip2."]
    hint = "(it starts with gzip's magic bytes: if it is gzip-compressed, name it *.gz;"
    assert f"skipped {tmp_path / 'gzipped.txt'}: invalid UTF-8 at byte 1 {hint}" in result.output
    assert f"skipped {archive}:in.txt: invalid UTF-8 at byte 1 {hint}" in result.output
    for name, label in (("plain.txt.gz", "gzip"), ("plain.txt.xz", "xz")):
        suffix = name[name.rindex(".") :]
        expected = f"{tmp_path / name} (MisnamedCompression: named {suffix} but not {label}-"
        assert expected in result.output
    assert "Files or archives cut short (unreadable): 2." in result.output


def test_min_length_from_config_follows_short_documents(tiny_model, monkeypatch):
    # Given the quickstart config (2 anchors of 16-64 tokens)
    monkeypatch.setenv(MODEL_VARIABLE, tiny_model)
    config = CONFIG_ROOT / "quickstart.jsonnet"
    # When / Then its reader needs 2 * 2 * 64 tokens, or 2 * 2 * 16 when it shrinks short ones
    assert settings_from_config(config)[0] == 256
    shrink = json.dumps({"dataset_reader.short_documents": "shrink"})
    assert settings_from_config(config, shrink)[0] == 64

"""Sharded embedding: parts with manifests, merged into what one process writes."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from declutr.inference.sharding import (
    ShardError,
    embed_shard,
    merge_shards,
    part_path,
    shard_bounds,
)


@given(st.integers(0, 1000), st.integers(1, 17))
def test_shards_tile_the_lines_in_rank_order(num_lines, world_size):
    bounds = [shard_bounds(num_lines, rank, world_size) for rank in range(world_size)]
    assert bounds[0][0] == 0 and bounds[-1][1] == num_lines
    assert all(end == start for (_, end), (start, _) in zip(bounds, bounds[1:]))
    sizes = [end - start for start, end in bounds]
    assert max(sizes) - min(sizes) <= 1


def test_shard_bounds_validates_the_rank():
    with pytest.raises(ValueError, match="rank"):
        shard_bounds(10, 2, 2)


@pytest.fixture
def corpus(texts: List[str], tmp_path: Path) -> Path:
    """11 lines: the encoder fixtures' texts (an empty one included) and a few more."""
    path = tmp_path / "corpus.txt"
    lines = texts + [f"Line number {i}." for i in range(4)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read(path: Path) -> np.ndarray:
    if path.suffix == ".npy":
        return np.load(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    return np.array([json.loads(line)["embeddings"] for line in lines])


@pytest.mark.parametrize("suffix, world_size", [(".npy", 2), (".npy", 3), (".jsonl", 4)])
def test_merged_parts_equal_one_process(encoder, corpus, tmp_path, suffix, world_size):
    # Given one process's output
    single = tmp_path / f"single{suffix}"
    encoder.encode_file(corpus, single)
    # When each rank embeds its shard and the parts are merged
    output = tmp_path / f"sharded{suffix}"
    manifests = [
        embed_shard(encoder, corpus, output, rank, world_size) for rank in range(world_size)
    ]
    assert merge_shards(output, remove_parts=True) == 11
    # Then the rows equal the single run's, and only the merged file is left
    np.testing.assert_allclose(_read(output), _read(single), atol=1e-6, rtol=0)
    assert not any(path.exists() for path in manifests)
    assert sorted(p.name for p in tmp_path.glob("sharded*")) == [output.name]


def test_more_ranks_than_lines(encoder, tmp_path):
    corpus = tmp_path / "two.txt"
    corpus.write_text("one line\nanother line\n", encoding="utf-8")
    output = tmp_path / "out.npy"
    for rank in range(3):
        embed_shard(encoder, corpus, output, rank, 3)
    assert merge_shards(output) == 2
    expected = encoder.encode(["one line", "another line"])
    np.testing.assert_allclose(np.load(output), expected, atol=1e-6, rtol=0)


def test_a_complete_part_is_kept_on_rerun(encoder, corpus, tmp_path):
    output = tmp_path / "out.npy"
    manifest = embed_shard(encoder, corpus, output, 0, 2)
    before = manifest.stat().st_mtime_ns
    assert embed_shard(encoder, corpus, output, 0, 2) == manifest
    assert manifest.stat().st_mtime_ns == before
    # A different setting is a different run: the part is redone
    embed_shard(encoder, corpus, output, 0, 2, normalize=True)
    assert json.loads(manifest.read_text())["normalize"] is True


def test_a_missing_rank_is_named_and_nothing_is_written(encoder, corpus, tmp_path):
    output = tmp_path / "out.npy"
    embed_shard(encoder, corpus, output, 0, 3)
    embed_shard(encoder, corpus, output, 2, 3)
    with pytest.raises(ShardError, match=r"ranks \[1\] of 3"):
        merge_shards(output)
    assert not output.exists()


def test_no_parts(tmp_path):
    with pytest.raises(ShardError, match="No parts"):
        merge_shards(tmp_path / "out.npy")


def test_a_corrupt_part_is_refused(encoder, corpus, tmp_path):
    output = tmp_path / "out.npy"
    for rank in range(2):
        embed_shard(encoder, corpus, output, rank, 2)
    part = part_path(output, 1, 2)
    part.write_bytes(part.read_bytes()[:-8])  # truncated
    with pytest.raises(ShardError, match="checksum"):
        merge_shards(output)


def test_parts_of_different_inputs_are_refused(encoder, corpus, tmp_path):
    other = tmp_path / "other.txt"
    other.write_text(corpus.read_text(encoding="utf-8") + "one more line\n", encoding="utf-8")
    output = tmp_path / "out.npy"
    embed_shard(encoder, corpus, output, 0, 2)
    embed_shard(encoder, other, output, 1, 2)
    with pytest.raises(ShardError, match="differs from rank 0"):
        merge_shards(output)


def test_parts_of_runs_with_different_world_sizes_are_refused(encoder, corpus, tmp_path):
    output = tmp_path / "out.npy"
    embed_shard(encoder, corpus, output, 0, 2)
    embed_shard(encoder, corpus, output, 0, 3)
    with pytest.raises(ShardError, match="different numbers of ranks"):
        merge_shards(output)


@pytest.mark.slow
def test_torchrun_two_cpu_ranks_equal_one_process(archive_file, encoder, corpus, tmp_path):
    # Given one process's output
    single = tmp_path / "single.npy"
    encoder.encode_file(corpus, single)
    # When torchrun starts two CPU ranks of `declutr embed`
    output = tmp_path / "sharded.npy"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    command += ["--nproc-per-node", "2", "--module", "declutr.cli", "embed"]
    command += [str(archive_file), str(corpus), "--output", str(output), "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    # Then rank 0 merged the parts into rows equal to the single run's
    assert "Merged 2 parts" in result.stdout
    np.testing.assert_allclose(np.load(output), np.load(single), atol=1e-6, rtol=0)
    assert sorted(p.name for p in tmp_path.glob("sharded*")) == ["sharded.npy"]


def test_cli_embeds_in_one_process_and_merge_names_missing_parts(archive_file, corpus, tmp_path):
    from typer.testing import CliRunner

    from declutr.cli import app

    output = tmp_path / "out.npy"
    result = CliRunner().invoke(
        app, ["embed", str(archive_file), str(corpus), "--output", str(output)]
    )
    assert result.exit_code == 0, result.output
    assert np.load(output).shape[0] == 11

    result = CliRunner().invoke(app, ["merge", str(tmp_path / "missing.npy")])
    assert result.exit_code == 1
    assert "No parts of" in result.output

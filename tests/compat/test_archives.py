"""Model archives: loading never runs code carried by an archive, and a damaged archive gives a
clear error naming it, through `load_archive_safely`, `Encoder` and allennlp's own `load_archive`
(what `allennlp predict` calls)."""

import io
import re
import shutil
import tarfile
from pathlib import Path
from typing import Callable, Dict

import pytest
import torch
from allennlp.models.archival import load_archive
from allennlp.predictors import Predictor

from declutr import Encoder
from declutr.compat.archives import (
    ArchiveError,
    UnsafeArchiveError,
    check_weights_file,
    load_archive_safely,
)
from tests.reliability import WritesMarker


def state_with_payload(archive_file: Path, marker: Path) -> Dict[str, object]:
    """The archive's real weights, plus one entry whose unpickling writes `marker`."""
    with tarfile.open(archive_file, "r:gz") as archive:
        weights = archive.extractfile("weights.th")
        assert weights is not None
        state = torch.load(io.BytesIO(weights.read()), weights_only=True)
    return {**state, "payload": WritesMarker(marker)}


def rewrite_archive(source: Path, target: Path, replace: Dict[str, bytes]) -> Path:
    """Copy the archive `source` to `target`, with the members named in `replace` replaced."""
    with tarfile.open(source, "r:gz") as original, tarfile.open(target, "w:gz") as copy:
        for member in original:
            data = original.extractfile(member) if member.isfile() else None
            if member.name in replace:
                content = replace[member.name]
                member.size = len(content)
                data = io.BytesIO(content)
            copy.addfile(member, data)
    return target


def saved(obj: object) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "payload-ran"


@pytest.fixture
def payload_archive(archive_file, tmp_path, marker) -> Path:
    weights = saved(state_with_payload(archive_file, marker))
    return rewrite_archive(archive_file, tmp_path / "payload.tar.gz", {"weights.th": weights})


@pytest.fixture
def truncated_archive(archive_file, tmp_path) -> Path:
    data = archive_file.read_bytes()
    path = tmp_path / "truncated.tar.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


LOADERS: Dict[str, Callable[[Path], object]] = {
    "load_archive_safely": lambda path: load_archive_safely(path),
    "allennlp load_archive": lambda path: load_archive(str(path)),
    "Predictor.from_path": lambda path: Predictor.from_path(str(path), "declutr"),
    "Encoder": lambda path: Encoder(path, device="cpu"),
}


@pytest.mark.parametrize("loader", LOADERS)
@pytest.mark.parametrize("torch_default", ["weights_only", "forced_off"])
def test_an_archive_with_pickled_code_is_refused_without_running_it(
    payload_archive, marker, monkeypatch, loader, torch_default
):
    # Given an archive whose weights.th pickles an object that writes a file when unpickled,
    # with torch's own default safe, or switched off by the environment
    if torch_default == "forced_off":
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    # When it is loaded / Then it is refused, naming the file and saying it was not loaded
    message = re.escape("weights.th contains code or other objects than tensors") + ".*" + "GLOBAL"
    with pytest.raises(UnsafeArchiveError, match=message + ".*it was not loaded"):
        LOADERS[loader](payload_archive)
    # And the payload never ran
    assert not marker.exists()


@pytest.mark.parametrize("loader", ["load_archive_safely", "Encoder"])
def test_the_refusal_names_the_archive(payload_archive, loader):
    with pytest.raises(UnsafeArchiveError, match=re.escape(f"archive {payload_archive}: ")):
        LOADERS[loader](payload_archive)


def test_a_serialization_directory_with_pickled_code_is_refused(
    archive_file, tmp_path, marker, monkeypatch
):
    # Given a serialization directory (what training writes) whose weights carry code
    directory = tmp_path / "serialization"
    with tarfile.open(archive_file, "r:gz") as archive:
        archive.extractall(directory, filter="data")
    torch.save(state_with_payload(archive_file, marker), directory / "weights.th")
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    # When / Then loading it is refused without running the payload
    with pytest.raises(UnsafeArchiveError, match=re.escape(f"{directory / 'weights.th'} contains")):
        load_archive(str(directory))
    assert not marker.exists()


@pytest.mark.parametrize("loader", LOADERS)
def test_a_truncated_archive_fails_naming_it(truncated_archive, loader):
    # Given a real archive cut in half
    # When / Then loading it fails, naming the archive and saying it is truncated or corrupt
    message = re.escape(f"Cannot load the AllenNLP archive {truncated_archive}: it is truncated")
    with pytest.raises(ArchiveError, match=message):
        LOADERS[loader](truncated_archive)


def test_a_file_that_is_not_an_archive_fails_naming_it(tmp_path):
    path = tmp_path / "model.tar.gz"
    path.write_bytes(b"not an archive at all")
    with pytest.raises(ArchiveError, match=re.escape(f"archive {path}: it is truncated or")):
        load_archive_safely(path)


def test_truncated_weights_fail_naming_the_file(archive_file, tmp_path):
    # Given an archive whose weights.th is cut in half (the archive itself is complete)
    with tarfile.open(archive_file, "r:gz") as archive:
        weights = archive.extractfile("weights.th")
        assert weights is not None
        data = weights.read()
    damaged = rewrite_archive(
        archive_file, tmp_path / "damaged.tar.gz", {"weights.th": data[: len(data) // 2]}
    )
    # When / Then loading fails, naming the archive and its weights file
    with pytest.raises(ArchiveError, match=r"damaged.tar.gz: .*weights.th is truncated or corrupt"):
        load_archive_safely(damaged)


@pytest.mark.parametrize(
    "name, kind, problem",
    [
        ("../escaped.txt", tarfile.REGTYPE, "a path outside the archive"),
        ("/tmp/absolute.txt", tarfile.REGTYPE, "a path outside the archive"),
        ("vocabulary/link", tarfile.SYMTYPE, "a link or special file"),
        ("weights-link", tarfile.LNKTYPE, "a link or special file"),
    ],
)
def test_members_outside_the_archive_are_refused_before_extracting(
    archive_file, tmp_path, name, kind, problem
):
    # Given a real archive with one more member: a path escaping it, or a link
    path = tmp_path / "hostile.tar.gz"
    shutil.copy(archive_file, tmp_path / "original.tar.gz")
    with tarfile.open(tmp_path / "original.tar.gz", "r:gz") as original:
        with tarfile.open(path, "w:gz") as copy:
            for member in original:
                copy.addfile(member, original.extractfile(member) if member.isfile() else None)
            extra = tarfile.TarInfo(name)
            extra.type = kind
            extra.linkname = "/etc/passwd" if kind != tarfile.REGTYPE else ""
            extra.size = 1 if kind == tarfile.REGTYPE else 0
            copy.addfile(extra, io.BytesIO(b"x") if kind == tarfile.REGTYPE else None)
    # When / Then loading it, through allennlp's own load_archive too, is refused naming it
    for load in (load_archive_safely, lambda p: load_archive(str(p))):
        with pytest.raises(UnsafeArchiveError, match=re.escape(f"{name!r} is {problem}")):
            load(path)
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/absolute.txt").exists()


def test_a_sound_archive_loads(archive_file):
    archive = load_archive_safely(archive_file)
    assert type(archive.model).__name__ == "DeCLUTR"


def test_check_weights_file_accepts_tensors_and_refuses_objects(tmp_path, marker):
    good, bad = tmp_path / "good.th", tmp_path / "bad.th"
    torch.save({"weight": torch.ones(2)}, good)
    torch.save({"weight": torch.ones(2), "payload": WritesMarker(marker)}, bad)
    check_weights_file(good)
    with pytest.raises(UnsafeArchiveError, match=re.escape(f"{bad} contains code")):
        check_weights_file(bad)
    assert not marker.exists()
    with pytest.raises(FileNotFoundError):
        check_weights_file(tmp_path / "missing.th")

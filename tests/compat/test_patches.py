import io
import tarfile
import uuid
from pathlib import Path

import allennlp
import pytest
import torch
from allennlp.common import cached_transformers
from allennlp.data.tokenizers import PretrainedTransformerTokenizer
from allennlp.models import archival
from allennlp.nn import util as nn_util

import declutr.compat
from declutr.compat.archives import UnsafeArchiveError
from tests.reliability import WritesMarker


def test_pretrained_transformer_tokenizer_builds_with_the_patch(tiny_model):
    # Given the patched cached_transformers.get_tokenizer (applied by declutr.register())
    # When allennlp builds its tokenizer, which passes add_special_tokens=False to it
    tokenizer = PretrainedTransformerTokenizer(tiny_model)
    # Then it tokenizes with the model's special tokens around the text
    tokens = tokenizer.tokenize("the object")
    assert [t.text for t in tokens][0] == "<s>" and tokens[-1].text == "</s>"


def test_unpatched_get_tokenizer_fails_on_current_transformers(tiny_model):
    # Given the original function the patch wraps
    original = cached_transformers.get_tokenizer.__wrapped__
    # Then the call allennlp makes is refused by current tokenizers
    with pytest.raises(AttributeError, match="add_special_tokens conflicts"):
        original(tiny_model, add_special_tokens=False)


def test_patches_are_idempotent():
    patched = cached_transformers.get_tokenizer
    declutr.compat.apply_patches()
    assert cached_transformers.get_tokenizer is patched


# Model weights and archives: allennlp 2.10.1 leaves both to torch's and tarfile's defaults.


def test_allennlp_calls_torch_load_without_weights_only():
    # Given allennlp's installed source
    root = Path(allennlp.__file__).parent
    calls = [
        (path.relative_to(root), line.strip())
        for path in root.rglob("*.py")
        for line in path.read_text(encoding="utf-8").splitlines()
        if "torch.load(" in line and not line.strip().startswith(("#", "`"))
    ]
    # Then it loads weights in several places, never choosing weights_only: it relies on torch's
    # default (True since torch 2.6, False when TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1)
    assert Path("nn/util.py") in {path for path, _ in calls}
    assert all("weights_only" not in line for _, line in calls)
    assert torch.__version__ >= "2.6"


def test_unpatched_read_state_dict_runs_pickled_code_when_torch_default_is_off(
    tmp_path, monkeypatch
):
    # Given a weights file carrying code, and torch's weights_only default switched off
    marker = tmp_path / "payload-ran"
    torch.save({"weight": torch.ones(2), "payload": WritesMarker(marker)}, tmp_path / "w.th")
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    # When the patched read_state_dict (what Model.load uses) reads it / Then it is refused
    with pytest.raises(UnsafeArchiveError, match="contains code"):
        nn_util.read_state_dict(tmp_path / "w.th")
    assert not marker.exists()
    # While allennlp's own function runs the payload
    with pytest.warns(UserWarning, match="TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"):
        nn_util.read_state_dict.__wrapped__(tmp_path / "w.th")
    assert marker.exists()


def test_override_weights_files_are_checked(tiny_model, tmp_path, monkeypatch):
    # Given a transformer's override_weights_file carrying code, torch's default switched off
    marker = tmp_path / "payload-ran"
    torch.save({"payload": WritesMarker(marker)}, tmp_path / "override.th")
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    # When allennlp's cached_transformers.get would load it / Then it is refused, unrun
    with pytest.raises(UnsafeArchiveError, match="override.th contains code"):
        cached_transformers.get(tiny_model, False, str(tmp_path / "override.th"))
    with pytest.raises(UnsafeArchiveError):
        cached_transformers.get(tiny_model, False, override_weights_file=tmp_path / "override.th")
    assert not marker.exists()


def test_unpatched_extracted_archive_writes_outside_its_directory(tmp_path):
    # Given an archive with a member named ../<unique name>
    escaped = f"declutr-escaped-{uuid.uuid4().hex}"
    path = tmp_path / "hostile.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        member = tarfile.TarInfo(f"../{escaped}")
        member.size = 1
        archive.addfile(member, io.BytesIO(b"x"))
    # When the patched extracted_archive (what load_archive uses) opens it / Then it refuses
    with pytest.raises(UnsafeArchiveError, match="a path outside the archive"):
        with archival.extracted_archive(str(path)):
            pass
    # While allennlp's own function writes beside its temporary directory
    with archival.extracted_archive.__wrapped__(str(path)) as directory:
        outside = Path(directory).parent / escaped
    try:
        assert outside.exists()
    finally:
        outside.unlink(missing_ok=True)


def test_archive_and_weights_patches_are_idempotent():
    patched = (archival.extracted_archive, nn_util.read_state_dict, cached_transformers.get)
    declutr.compat.apply_patches()
    assert (archival.extracted_archive, nn_util.read_state_dict, cached_transformers.get) == patched


def test_checkpoints_are_written_atomically(tmp_path):
    from allennlp.training import checkpointer as checkpointer_module

    # Given an object that fails to pickle after part of the file is written
    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    unpicklable = {"weights": torch.zeros(1000), "hook": Unpicklable()}
    # When allennlp's checkpointer saves it (through the patched module-level torch)
    with pytest.raises(RuntimeError, match="cannot pickle"):
        checkpointer_module.torch.save(unpicklable, tmp_path / "patched.th")
    # Then no file with the checkpoint's name exists, so --recover cannot pick up a torn one
    assert not (tmp_path / "patched.th").exists()
    # While plain torch.save, what allennlp calls unpatched, leaves a torn file behind
    with pytest.raises(RuntimeError, match="cannot pickle"):
        torch.save(unpicklable, tmp_path / "plain.th")
    assert (tmp_path / "plain.th").exists()


def test_a_checkpoint_without_its_training_state_is_not_resumed_from(tmp_path):
    from allennlp.training.checkpointer import Checkpointer

    # Given a complete checkpoint after 5 batches, and one after 10 whose training state was
    # never written (the process died between the two files)
    for name in ["model_state_e0_b5.th", "training_state_e0_b5.th", "model_state_e0_b10.th"]:
        torch.save({}, tmp_path / name)
    checkpointer = Checkpointer(str(tmp_path))
    # Then recovery uses the complete one
    model_state, training_state = checkpointer.find_latest_checkpoint()
    assert model_state.endswith("model_state_e0_b5.th")
    # While allennlp's own lookup picks the incomplete one
    unpatched = Checkpointer._find_all_checkpoints.__wrapped__(checkpointer)
    assert max(unpatched) == (0, 10)

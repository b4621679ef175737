import numpy as np

from declutr.evaluation import MTEBEncoder
from tests.evaluation.conftest import BagOfWords


class Recorder(BagOfWords):
    """Records the keyword arguments of `encode`."""

    def encode(self, texts, batch_size=None, normalize=False, show_progress=None):
        self.kwargs = {"batch_size": batch_size, "normalize": normalize, "show": show_progress}
        return super().encode(texts)


def test_encode_takes_mteb_arguments():
    # Given
    encoder = Recorder(dim=6)
    model = MTEBEncoder(encoder, normalize=True)

    # When: called as MTEB calls a model, task name, prompt type and extra keywords included
    embeddings = model.encode(
        ["a", "b"], batch_size=2, task_name="x", prompt_type=None, convert_to_tensor=False
    )

    # Then
    assert isinstance(embeddings, np.ndarray) and embeddings.shape == (2, 6)
    assert embeddings.dtype == np.float32
    assert encoder.kwargs == {"batch_size": 2, "normalize": True, "show": False}
    np.testing.assert_array_equal(embeddings, encoder.encode(["a", "b"]))


def test_batches_of_mappings_are_flattened():
    encoder = Recorder(dim=3)
    embeddings = MTEBEncoder(encoder).encode(
        [{"text": ["a", "b"]}, {"text": ["c"]}], show_progress_bar=True
    )
    assert embeddings.shape == (3, 3) and encoder.calls[-1] == ["a", "b", "c"]
    assert encoder.kwargs["show"] is True


def test_real_encoder(tiny_model):
    from declutr import Encoder

    model = MTEBEncoder(Encoder(tiny_model, device="cpu"))
    embeddings = model.encode(["a", "b"], batch_size=2, task_name="x")
    assert embeddings.shape == (2, 32) and embeddings.dtype == np.float32

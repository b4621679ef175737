"""Let MTEB (https://github.com/embeddings-benchmark/mteb) evaluate a declutr model.

MTEB evaluates any object with an `encode` method that takes a list of sentences, accepts its
keyword arguments (`task_name`, `prompt_type`, `batch_size`, ...) and returns a
`(num_sentences, dim)` array. `MTEBEncoder` wraps `declutr.Encoder` that way; mteb itself is not
a dependency of declutr. With network access:

    pip install "mteb<2"

    import mteb
    from declutr import Encoder
    from declutr.evaluation import MTEBEncoder

    model = MTEBEncoder(Encoder("path/to/model.tar.gz", max_length=128))
    tasks = mteb.get_tasks(tasks=["STSBenchmark", "SICK-R", "STS12"])
    results = mteb.MTEB(tasks=tasks).run(model, output_folder="results/declutr")

MTEB downloads its datasets from the Hugging Face hub and scores STS12-16 with all pairs of a
year pooled: the `spearman_all` of `declutr evaluate`, not SentEval's mean over subsets.
"""

from typing import Any, Iterable, List, Mapping, Optional

import numpy as np


class MTEBEncoder:
    """An `encode(sentences, **kwargs)` for MTEB around a `declutr.Encoder` (or anything with
    `encode(texts, batch_size=..., normalize=..., show_progress=...)`).

    # Parameters

    encoder : `declutr.Encoder`
        The model to evaluate.
    normalize : `bool`, optional (default=`False`)
        Return unit-length vectors. Cosine-based scores do not change; dot-product ones do.
    show_progress : `bool`, optional (default=`False`)
        Show the encoder's progress bar; MTEB's `show_progress_bar` argument overrides it.
    """

    def __init__(self, encoder: Any, normalize: bool = False, show_progress: bool = False) -> None:
        self.encoder = encoder
        self.normalize = normalize
        self.show_progress = show_progress

    def encode(
        self,
        sentences: Iterable[Any],
        *,
        task_name: Optional[str] = None,
        prompt_type: Optional[Any] = None,
        batch_size: Optional[int] = None,
        show_progress_bar: Optional[bool] = None,
        **kwargs: Any,
    ) -> np.ndarray:
        """Embed `sentences` as a float32 array `(num_sentences, dim)`.

        # Parameters

        sentences : `Iterable[str]`
            The texts; batches given as mappings with a `"text"` list are flattened in order.
        task_name, prompt_type : optional
            Accepted and ignored: DeCLUTR embeds every text the same way, with no prompt.
        batch_size : `int`, optional (default=`None`)
            Overrides the encoder's batch size.
        show_progress_bar : `bool`, optional (default=`None`)
            Overrides `show_progress`.
        **kwargs
            Other arguments MTEB passes (such as `convert_to_tensor`) are ignored.
        """
        texts = _texts(sentences)
        embeddings = self.encoder.encode(
            texts,
            batch_size=batch_size,
            normalize=self.normalize,
            show_progress=self.show_progress if show_progress_bar is None else show_progress_bar,
        )
        return np.asarray(embeddings, dtype=np.float32)


def _texts(sentences: Iterable[Any]) -> List[str]:
    texts: List[str] = []
    for item in sentences:
        if isinstance(item, Mapping):
            texts.extend(item["text"])
        else:
            texts.append(item)
    return texts

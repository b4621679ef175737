from allennlp.common.util import JsonDict
from allennlp.data import DatasetReader, Instance
from allennlp.models import Model
from allennlp.predictors import Predictor

from declutr.data.dataset_readers import DeCLUTRDatasetReader


@Predictor.register("declutr")
class DeCLUTRPredictor(Predictor):
    """Embeds whole texts with a trained DeCLUTR model.

    Registered as a `Predictor` with name "declutr".

    Input lines are JSON objects `{"text": "..."}` (or, with `--use-dataset-reader`, any file the
    "declutr" reader reads); each gives one output line `{"embeddings": [...]}` (plus
    `"projections"` when the model has a feedforward), in input order. Span sampling is switched
    off on the reader here, so an archive trained with sampling needs no `--overrides`.

    # Parameters

    model : `Model`
        A trained "declutr" model.
    dataset_reader : `DatasetReader`
        The archive's "declutr" reader; its sampling is switched off for this predictor's lifetime.
    frozen : `bool`, optional (default=`True`)
        Put the model in evaluation mode.
    """

    def __init__(self, model: Model, dataset_reader: DatasetReader, frozen: bool = True) -> None:
        if not isinstance(dataset_reader, DeCLUTRDatasetReader):
            raise TypeError(
                f'The declutr predictor needs the "declutr" dataset reader, got '
                f"{type(dataset_reader).__name__}."
            )
        dataset_reader.sample_spans = False
        super().__init__(model, dataset_reader, frozen)

    def _json_to_instance(self, json_dict: JsonDict) -> Instance:
        text = json_dict.get("text") if isinstance(json_dict, dict) else None
        if not isinstance(text, str):
            raise ValueError(
                f'Each input must be a JSON object with a string "text", got {json_dict!r}.'
            )
        return self._dataset_reader.text_to_instance(text)

    def predict(self, text: str) -> JsonDict:
        """Embed one text."""
        return self.predict_json({"text": text})

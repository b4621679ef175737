import json
import logging
from typing import Any, List, Optional, Union

from allennlp.common.util import JsonDict
from allennlp.data import DatasetReader, Instance
from allennlp.models import Model
from allennlp.predictors import Predictor

from declutr.data.dataset_readers import DeCLUTRDatasetReader
from declutr.data.texts import invalid_text_reason
from declutr.inference import choice
from declutr.inference.options import AUTO, REFERENCE_RUNTIME

logger = logging.getLogger(__name__)


class InvalidInputError(ValueError):
    """An input cannot be embedded: not a JSON object with a valid string "text"."""


class _Rejected(dict):
    """An input line `load_line` could not use, carried to the output as a skip; a dict (empty)
    so that `allennlp predict` can still print it as the model input."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


@Predictor.register("declutr")
class DeCLUTRPredictor(Predictor):
    """Embeds whole texts with a trained DeCLUTR model.

    Registered as a `Predictor` with name "declutr".

    Input lines are JSON objects `{"text": "..."}` (or, with `--use-dataset-reader`, any file the
    "declutr" reader reads); each gives one output line `{"embeddings": [...]}` (plus
    `"projections"` when the model has a feedforward), in input order. Span sampling is switched
    off on the reader here, so an archive trained with sampling needs no `--overrides`, and the
    reader keeps empty lines (`keep_empty_lines`), so that every line gives an output.

    Texts are embedded as given: an empty or whitespace-only `"text"` is valid (the empty text is
    the special tokens alone), as in `declutr.Encoder`. Texts longer than the reader's
    `max_length` subword tokens are truncated; they are counted in `truncated`, and the first one
    logs a warning (once per predictor).

    Invalid inputs (not valid JSON, not a JSON object, no `"text"`, or a `"text"` that is not a
    string or holds a lone surrogate) raise `InvalidInputError`, a `ValueError`. From `allennlp
    predict` its message names the input line, counting non-blank lines only: allennlp's predict
    command drops whitespace-only lines of JSON input before any predictor sees them, so they get
    no output line either. `--use-dataset-reader` keeps every line of a `.txt` or `.jsonl` file,
    and its decoding errors name the file and line. With `skip_invalid=True`, an invalid JSON
    input gives the output `{"embeddings": null, "error": "..."}` instead, keeping one output per
    input; skips are counted in `skipped`, and the first logs a warning. (Lines the reader cannot
    decode with `--use-dataset-reader` still stop prediction.)

    # Parameters

    model : `Model`
        A trained "declutr" model.
    dataset_reader : `DatasetReader`
        The archive's "declutr" reader; its sampling is switched off for this predictor's lifetime.
    frozen : `bool`, optional (default=`True`)
        Put the model in evaluation mode.
    skip_invalid : `bool`, optional (default=`False`)
        Answer invalid inputs with an `"error"` line instead of raising. From the command line:
        `--predictor-args '{"skip_invalid": true}'`.
    precision : `str`, optional (default=`"auto"`)
    backend : `str`, optional (default=`"auto"`)
    long_texts : `str`, optional (default=`"truncate"`)
    chunk_overlap : `int`, optional (default=`0`)
        As `declutr.Encoder`'s (e.g. `--predictor-args '{"backend": "openvino", "precision":
        "bfloat16"}'`). Settings other than torch float32 with truncation embed JSON inputs with
        an `Encoder` over the archive's transformer and the reader's tokenizer and `max_length`
        (the same tokenization and pooling); the outputs then hold `"embeddings"` only (no
        `"projections"`), and `--use-dataset-reader` is refused. With `"auto"` (the default)
        the predictor takes the fastest runtime of this machine that gives the same vectors
        (cosine >= 0.9999 to torch float32, `declutr.inference.choice`) and logs it; a model
        with a `feedforward` keeps the model's own forward (its `"projections"`), and
        `--use-dataset-reader` instances always go through the model.
    """

    def __init__(
        self,
        model: Model,
        dataset_reader: DatasetReader,
        frozen: bool = True,
        skip_invalid: bool = False,
        precision: str = AUTO,
        backend: str = AUTO,
        long_texts: str = "truncate",
        chunk_overlap: int = 0,
    ) -> None:
        if not isinstance(dataset_reader, DeCLUTRDatasetReader):
            raise TypeError(
                f'The declutr predictor needs the "declutr" dataset reader, got '
                f"{type(dataset_reader).__name__}."
            )
        if not isinstance(skip_invalid, bool):
            raise TypeError(f"skip_invalid must be true or false, got {skip_invalid!r}.")
        dataset_reader.sample_spans = False
        dataset_reader.keep_empty_lines = True  # one output per line with --use-dataset-reader
        super().__init__(model, dataset_reader, frozen)
        self._reader = dataset_reader
        self.skip_invalid = skip_invalid
        self.truncated = 0
        self.skipped = 0
        self._truncated_by_reader = dataset_reader.texts_truncated
        self._lines_loaded = 0
        self._encoder = None
        self._encoder_chosen = False  # by "auto": instances still go through the model
        backend = choice.option_value("backend", backend)
        precision = choice.option_value("precision", precision)
        plain = (long_texts, chunk_overlap) == ("truncate", 0)
        if plain and AUTO in (backend, precision) and getattr(model, "_feedforward", None):
            # Keep the "projections" only the model's own forward gives.
            backend, precision = REFERENCE_RUNTIME["backend"], REFERENCE_RUNTIME["precision"]
        # The reference runtime (torch float32) is the model's own forward.
        if {"backend": backend, "precision": precision} != REFERENCE_RUNTIME or not plain:
            self._encoder = _encoder_of(
                model, dataset_reader, precision, backend, long_texts, chunk_overlap
            )
            found = self._encoder.runtime_choice
            if plain and AUTO in (backend, precision):
                self._encoder_chosen = True
                if {"backend": found.backend, "precision": found.precision} == REFERENCE_RUNTIME:
                    self._encoder = None  # the model's own forward: the same vectors

    def load_line(self, line: str) -> JsonDict:
        """Parse one line of JSON input (`allennlp predict` calls this for every non-blank line)."""
        self._lines_loaded += 1
        where = f"Input line {self._lines_loaded} (not counting blank lines)"
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as error:  # too long an integer, too deep nesting
            return self._reject(f"{where} is not valid JSON ({error}).")
        reason = _input_problem(record)
        return record if reason is None else self._reject(f"{where} {reason}.")

    def predict(self, text: str) -> JsonDict:
        """Embed one text."""
        return self.predict_json({"text": text})

    def predict_json(self, inputs: JsonDict) -> JsonDict:
        if self._encoder is not None:
            return self.predict_batch_json([inputs])[0]
        prepared = self._prepare(inputs)
        if isinstance(prepared, str):
            return self._skipped_output(prepared)
        return self.predict_instance(prepared)

    def predict_batch_json(self, inputs: List[JsonDict]) -> List[JsonDict]:
        """One output per input, in order; skipped inputs are not run through the model."""
        if self._encoder is not None:
            return self._encode_batch_json(inputs)
        prepared = [self._prepare(json_dict) for json_dict in inputs]
        instances = [item for item in prepared if isinstance(item, Instance)]
        outputs = iter(self.predict_batch_instance(instances) if instances else [])
        return [
            next(outputs) if isinstance(item, Instance) else self._skipped_output(item)
            for item in prepared
        ]

    def _encode_batch_json(self, inputs: List[JsonDict]) -> List[JsonDict]:
        """`predict_batch_json` through the `Encoder` of the non-default settings."""
        assert self._encoder is not None
        errors = [self._problem(json_dict) for json_dict in inputs]
        texts = [json_dict["text"] for json_dict, error in zip(inputs, errors) if error is None]
        vectors = iter(self._encoder.encode(texts, show_progress=False) if texts else [])
        self.truncated = self._encoder.truncated
        return [
            {"embeddings": next(vectors).tolist()} if error is None else self._skipped_output(error)
            for error in errors
        ]

    def _problem(self, inputs: JsonDict) -> Optional[str]:
        """Why an input is skipped (with `skip_invalid`; else raise), or `None` if it is valid."""
        if isinstance(inputs, _Rejected):
            return inputs.error
        reason = _input_problem(inputs)
        if reason is None:
            return None
        message = f'Each input must be a JSON object with a string "text"; this one {reason}.'
        if not self.skip_invalid:
            raise InvalidInputError(message)
        return message

    def predict_instance(self, instance: Instance) -> JsonDict:
        _refuse_instances(self._encoder, self._encoder_chosen)
        output = super().predict_instance(instance)
        self._note_truncations()
        return output

    def predict_batch_instance(self, instances: List[Instance]) -> List[JsonDict]:
        _refuse_instances(self._encoder, self._encoder_chosen)
        outputs = super().predict_batch_instance(instances)
        self._note_truncations()
        return outputs

    def _json_to_instance(self, json_dict: JsonDict) -> Instance:
        reason = _input_problem(json_dict)
        if reason is not None:
            raise InvalidInputError(
                f'Each input must be a JSON object with a string "text"; this one {reason}.'
            )
        return self._dataset_reader.text_to_instance(json_dict["text"])

    def _prepare(self, inputs: JsonDict) -> Union[Instance, str]:
        """The instance of a valid input, or (with `skip_invalid`) why it is skipped."""
        if isinstance(inputs, _Rejected):
            return inputs.error
        try:
            return self._json_to_instance(inputs)
        except InvalidInputError as error:
            if not self.skip_invalid:
                raise
            return str(error)

    def _reject(self, message: str) -> JsonDict:
        """Raise for an unusable input line, or (with `skip_invalid`) carry it as a skip."""
        if not self.skip_invalid:
            raise InvalidInputError(
                f"{message} Pass --predictor-args '{{\"skip_invalid\": true}}' to skip such "
                "lines instead."
            )
        return _Rejected(message)

    def _skipped_output(self, error: str) -> JsonDict:
        self.skipped += 1
        if self.skipped == 1:
            logger.warning(
                'Skipped an invalid input (%s); its output line is {"embeddings": null, '
                '"error": ...}. Further skips are counted in the predictor\'s `skipped`.',
                error,
            )
        return {"embeddings": None, "error": error}

    def _note_truncations(self) -> None:
        """Count the texts the reader truncated since last time; warn on the first."""
        new = self._reader.texts_truncated - self._truncated_by_reader
        self._truncated_by_reader = self._reader.texts_truncated
        if new <= 0:
            return
        if self.truncated == 0:
            logger.warning(
                "Some texts are longer than the model's %d subword tokens and were truncated to "
                "their beginning; they are counted in the predictor's `truncated`.",
                self._reader.max_length,
            )
        self.truncated += new


def _encoder_of(
    model: Model, reader: DeCLUTRDatasetReader, *options: Any
) -> Any:  # declutr.Encoder
    """An `Encoder` over the model's transformer and the reader's tokenizer and `max_length`,
    with `options` (precision, backend, long_texts, chunk_overlap)."""
    from declutr.inference.encoder import Encoder
    from declutr.inference.loading import Loaded, transformer_of

    loaded = Loaded(transformer_of(model), reader.hf_tokenizer, reader.max_length)
    device = next(model.parameters()).device
    return Encoder(loaded, device, 32, reader.max_length, *options)


def _refuse_instances(encoder: Any, chosen: bool) -> None:
    """Instances go through the model's own forward: refused for settings that were asked for
    (an automatic choice of runtime is simply not used for them)."""
    if encoder is not None and not chosen:
        raise ValueError(
            "--use-dataset-reader (instances) embeds with the default precision, backend and "
            "long_texts only; give JSON lines as input to use the predictor's other settings."
        )


def _input_problem(inputs: object) -> Optional[str]:
    """Why `inputs` is not a JSON object with a valid "text", or `None`."""
    if not isinstance(inputs, dict):
        return f"is {type(inputs).__name__} {_preview(inputs)}, not a JSON object"
    if "text" not in inputs:
        return f'has no "text" (its keys are {list(inputs)})'
    reason = invalid_text_reason(inputs["text"])
    return None if reason is None else f'has a "text" that {reason}'


def _preview(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."

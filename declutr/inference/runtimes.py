"""Where `Encoder` runs the transformer: torch (float32, or bfloat16/float16 under autocast),
OpenVINO or ONNX Runtime. Every runtime takes the same padded batches and returns the same
masked mean of the last hidden states, pooled in float32, so that only the arithmetic inside the
transformer differs.

OpenVINO and ONNX Runtime are optional extras (`pip install "declutr[openvino]"`,
`"declutr[onnx]"`). Their models come from a directory written by `scripts/export.py
--backend ...` (`openvino/openvino_model.xml`, `onnx/model.onnx`, where sentence-transformers
looks for them), or are converted from the torch model when the encoder is built.
"""

import contextlib
import importlib
import io
import logging
import os
import warnings
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch

from declutr.inference.batching import masked_mean, mean_pool
from declutr.inference.cpu import BF16_FLAGS, has_bf16_instructions
from declutr.inference.options import AUTO, BACKENDS, PRECISIONS

logger = logging.getLogger(__name__)

# Where sentence-transformers (and `Encoder`) find a runtime's model inside a model directory.
OPENVINO_FILE = "openvino/openvino_model.xml"
ONNX_FILE = "onnx/model.onnx"
# An int8 model (`declutr.inference.quantize`), named as sentence-transformers names its own.
INT8_OPENVINO_FILE = "openvino/openvino_model_qint8_quantized.xml"
# The input and output names optimum (and so sentence-transformers) expects.
OUTPUT_NAME = "last_hidden_state"
_EXTRAS = {"openvino": ("openvino", "declutr[openvino]"), "onnx": ("onnxruntime", "declutr[onnx]")}
# The arithmetic of what int8 leaves unquantized (normalisations, softmax) is float32.
_OPENVINO_PRECISIONS = {"float32": "f32", "bfloat16": "bf16", "float16": "f16", "int8": "f32"}
_TORCH_DTYPES = {"bfloat16": torch.bfloat16, "float16": torch.float16}

Batch = Dict[str, torch.Tensor]


def resolve_device(device: Optional[Union[str, int, torch.device]]) -> torch.device:
    """`None`: the first GPU if there is one, else the CPU; an int: that GPU (negative: CPU)."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if isinstance(device, int):
        return torch.device("cpu") if device < 0 else torch.device("cuda", device)
    return torch.device(device)


def check_runtime_options(backend: str, precision: str, device: torch.device) -> None:
    """Raise `ValueError` for an unknown or unsupported backend, precision and device, and
    `ImportError` when the backend's package is missing."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}.")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}.")
    if backend != "torch" and device.type != "cpu":
        raise ValueError(
            f"backend={backend!r} runs on the CPU only, got device={str(device)!r}; on a GPU "
            "use backend='torch' (with precision='bfloat16' or 'float16')."
        )
    if precision == "int8" and backend not in ("openvino", AUTO):
        raise ValueError(
            f"precision='int8' runs with backend='openvino' (on the CPU), got backend={backend!r}: "
            "export an int8 model with `declutr export MODEL OUTPUT --backend openvino "
            "--int8-calibration TEXTS.txt` and embed with OUTPUT."
        )
    if backend == "onnx" and precision != "float32":
        raise ValueError(
            f"backend='onnx' supports precision='float32' only, got {precision!r}: ONNX Runtime's "
            "CPU provider has no reduced-precision kernels for these models. Use "
            "backend='openvino' or backend='torch' for bfloat16."
        )
    if backend == "torch" and precision == "float16" and device.type == "cpu":
        raise ValueError(
            "precision='float16' with backend='torch' on the CPU is emulated and slower than "
            "float32; use precision='bfloat16' on the CPU, or float16 on a GPU."
        )
    if backend == "torch" and precision == "bfloat16" and device.type == "cpu":
        if has_bf16_instructions() is False:
            raise ValueError(
                "precision='bfloat16' with backend='torch': this CPU has no bfloat16 "
                f"instructions ({' or '.join(sorted(BF16_FLAGS))}), so torch would emulate "
                "bfloat16, several times slower than float32 (5x on an AVX2-only CPU). Use "
                "precision='float32' here, or bfloat16 on a GPU or a CPU with those instructions."
            )
    if backend == "torch" and precision == "bfloat16" and device.type == "cuda":
        if not torch.cuda.is_bf16_supported():
            raise ValueError(
                f"{device} does not support bfloat16; use precision='float16' on this GPU."
            )
    if backend in _EXTRAS:
        _import_extra(backend)


def _import_extra(backend: str) -> Any:
    module, extra = _EXTRAS[backend]
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f'backend={backend!r} needs {module}: pip install "{extra}" ({error}).'
        ) from error


class Runtime:
    """Pooled vectors of padded batches: `(batch_size, dim)` float32 arrays, one per batch.

    # Parameters

    precision : `str`
        One of `PRECISIONS`; the arithmetic inside the transformer.
    """

    backend = "torch"

    def __init__(self, precision: str) -> None:
        self.precision = precision

    def pooled(self, batches: Sequence[Batch]) -> List[np.ndarray]:
        """The pooled vectors of every batch (dicts of int64 `(batch_size, seq_len)` tensors
        named as the model's inputs), in order."""
        raise NotImplementedError


class TorchRuntime(Runtime):
    """The transformer in torch; bfloat16 and float16 run under `torch.autocast` (weights stay
    float32; matrix products run in the reduced precision, normalisations and pooling in float32).

    # Parameters

    transformer : `transformers.PreTrainedModel`
        In evaluation mode, on `device`.
    device : `torch.device`
        Where the transformer is.
    precision : `str`
        One of `PRECISIONS` (see `check_runtime_options` for what each device supports).
    """

    def __init__(self, transformer: Any, device: torch.device, precision: str) -> None:
        super().__init__(precision)
        self.transformer = transformer
        self.device = device

    @torch.inference_mode()
    def pooled(self, batches: Sequence[Batch]) -> List[np.ndarray]:
        dtype = _TORCH_DTYPES.get(self.precision)
        outputs = []
        for batch in batches:
            inputs = {name: tensor.to(self.device) for name, tensor in batch.items()}
            with torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None):
                hidden_states = self.transformer(**inputs).last_hidden_state
            pooled = mean_pool(hidden_states.float(), inputs["attention_mask"])
            outputs.append(pooled.cpu().numpy())
        return outputs


class OpenVINORuntime(Runtime):
    """An OpenVINO model on the CPU, compiled once with the THROUGHPUT hint: the batches of a
    chunk go to several infer requests at once (one stream per core), which keeps every core
    busy on small models where one request would not.

    # Parameters

    model : `openvino.Model`
        The transformer, with inputs named as its tokenizer's and the output `last_hidden_state`.
    precision : `str`
        `"float32"`, `"bfloat16"` (needs a CPU with bfloat16 instructions, else OpenVINO
        computes in float32) or `"float16"` (CPUs with float16 matrix units only).
    threads : `int`, optional (default=`None`)
        CPU threads in all; `None` lets OpenVINO use every core.
    """

    backend = "openvino"

    def __init__(self, model: Any, precision: str, threads: Optional[int] = None) -> None:
        super().__init__(precision)
        openvino = _import_extra("openvino")
        core = openvino.Core()
        capabilities = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
        if precision == "float16" and "FP16" not in capabilities:
            raise ValueError(
                "precision='float16' with backend='openvino' needs a CPU with float16 matrix "
                f"units (this one offers {capabilities}); use precision='bfloat16' or 'float32'."
            )
        if precision == "bfloat16" and "BF16" not in capabilities:
            logger.warning("This CPU has no bfloat16 instructions: OpenVINO computes in float32.")
        config = {
            "INFERENCE_PRECISION_HINT": _OPENVINO_PRECISIONS[precision],
            "PERFORMANCE_HINT": "THROUGHPUT",
        }
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self.compiled = core.compile_model(model, "CPU", config)
        self.input_names = [port.get_any_name() for port in model.inputs]
        self.num_requests = int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self._queue = openvino.AsyncInferQueue(self.compiled, self.num_requests)

    def pooled(self, batches: Sequence[Batch]) -> List[np.ndarray]:
        outputs: List[Optional[np.ndarray]] = [None] * len(batches)
        masks = [batch["attention_mask"].numpy() for batch in batches]

        def done(request: Any, index: int) -> None:
            hidden_states = request.get_tensor(OUTPUT_NAME).data
            outputs[index] = masked_mean(hidden_states, masks[index])

        self._queue.set_callback(done)
        for index, batch in enumerate(batches):
            inputs = {name: batch[name].numpy() for name in self.input_names}
            self._queue.start_async(inputs, index)  # waits while every request is busy
        self._queue.wait_all()
        return outputs  # type: ignore[return-value]


class OnnxRuntime(Runtime):
    """An ONNX model under ONNX Runtime's CPU provider, float32.

    # Parameters

    model : `bytes | str`
        The serialized model, or the path of a `.onnx` file.
    threads : `int`, optional (default=`None`)
        Threads per operator; `None` lets ONNX Runtime use every core.
    """

    backend = "onnx"

    def __init__(self, model: Any, threads: Optional[int] = None) -> None:
        super().__init__("float32")
        onnxruntime = _import_extra("onnx")
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        self.session = onnxruntime.InferenceSession(
            model, options, providers=["CPUExecutionProvider"]
        )
        self.input_names = [node.name for node in self.session.get_inputs()]

    def pooled(self, batches: Sequence[Batch]) -> List[np.ndarray]:
        outputs = []
        for batch in batches:
            inputs = {name: batch[name].numpy() for name in self.input_names}
            (hidden_states,) = self.session.run([OUTPUT_NAME], inputs)
            outputs.append(masked_mean(hidden_states, inputs["attention_mask"]))
        return outputs


def make_runtime(
    backend: str,
    precision: str,
    transformer: Any,
    device: torch.device,
    input_names: Sequence[str],
    source: Any = None,
) -> Runtime:
    """The runtime for `backend`, its model read from `source` when that is an exported
    directory holding one, else converted from `transformer` (a float32 torch model in eval
    mode, on `device`)."""
    check_runtime_options(backend, precision, device)
    model_dir = (
        Path(source) if isinstance(source, (str, os.PathLike)) and Path(source).is_dir() else None
    )
    threads = torch.get_num_threads()
    if backend == "torch":
        return TorchRuntime(transformer, device, precision)
    if backend == "openvino" and precision == "int8":
        model = _import_extra("openvino").Core().read_model(str(int8_model_path(source)))
        return OpenVINORuntime(model, precision, threads)
    if backend == "openvino":
        saved = model_dir / OPENVINO_FILE if model_dir else None
        if saved is not None and saved.is_file():
            model = _import_extra("openvino").Core().read_model(str(saved))
        else:
            model = to_openvino(transformer, input_names)
        return OpenVINORuntime(model, precision, threads)
    saved = model_dir / ONNX_FILE if model_dir else None
    if saved is not None and saved.is_file():
        return OnnxRuntime(str(saved), threads)
    return OnnxRuntime(to_onnx(transformer, input_names), threads)


def int8_model_path(source: Optional[Any]) -> Path:
    """The int8 model of an exported directory `source`, or a `ValueError` saying how to make
    one."""
    folder = Path(source) if isinstance(source, (str, Path)) and Path(source).is_dir() else None
    path = folder / INT8_OPENVINO_FILE if folder else None
    if path is None or not path.is_file():
        raise ValueError(
            f"precision='int8' reads an int8 model exported beside the float32 one "
            f"({INT8_OPENVINO_FILE}), and {source} has none. Make it, calibrated on your own "
            "texts: declutr export MODEL OUTPUT --backend openvino --int8-calibration TEXTS.txt "
            f"(then embed with OUTPUT); the float32 OpenVINO model is {OPENVINO_FILE}."
        )
    return path


# Conversion.


class _LastHiddenState(torch.nn.Module):
    """The transformer with positional inputs (in `input_names` order) and one output, as the
    converters want it."""

    def __init__(self, transformer: Any, input_names: Sequence[str]) -> None:
        super().__init__()
        self.transformer = transformer
        self.input_names = list(input_names)

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.transformer(**dict(zip(self.input_names, inputs))).last_hidden_state


def _example_inputs(input_names: Sequence[str]) -> tuple:
    """Two rows of eight tokens, the second padded, as a tracing example (shapes stay dynamic)."""
    mask = torch.ones((2, 8), dtype=torch.long)
    mask[1, 5:] = 0
    values = {"input_ids": torch.full((2, 8), 5, dtype=torch.long), "attention_mask": mask}
    return tuple(values.get(name, torch.zeros((2, 8), dtype=torch.long)) for name in input_names)


@contextlib.contextmanager
def _transformers_errors_only() -> Iterator[None]:
    """Tracing reads every attribute of the model, and transformers logs a warning for some
    (`loss_type=None` ... unrecognised): only its errors are shown while a model converts."""
    from transformers.utils import logging as transformers_logging

    level = transformers_logging.get_verbosity()
    transformers_logging.set_verbosity_error()
    try:
        yield
    finally:
        transformers_logging.set_verbosity(level)


def to_openvino(transformer: Any, input_names: Sequence[str]) -> Any:
    """The float32 transformer as an `openvino.Model` with dynamic batch and sequence sizes."""
    openvino = _import_extra("openvino")
    wrapper = _LastHiddenState(transformer, input_names).eval()
    example = _example_inputs(input_names)
    with warnings.catch_warnings(), _transformers_errors_only():
        warnings.simplefilter("ignore")  # tracer warnings about shape-dependent branches
        model = openvino.convert_model(wrapper, example_input=example)
    for port, name in zip(model.inputs, input_names):
        port.get_tensor().set_names({name})
        model.reshape({port: openvino.PartialShape([-1, -1])})
    model.outputs[0].get_tensor().set_names({OUTPUT_NAME})
    return model


def to_onnx(transformer: Any, input_names: Sequence[str], path: Optional[Path] = None) -> bytes:
    """The float32 transformer as ONNX (opset 17, dynamic batch and sequence sizes), written
    to `path` if given; returns the serialized model."""
    axes = {0: "batch_size", 1: "sequence_length"}
    buffer = io.BytesIO()
    with warnings.catch_warnings(), _transformers_errors_only():
        warnings.simplefilter("ignore")  # tracer and deprecation warnings
        torch.onnx.export(
            _LastHiddenState(transformer, input_names).eval(),
            _example_inputs(input_names),
            buffer,
            dynamo=False,  # the TorchScript exporter needs no onnxscript
            input_names=list(input_names),
            output_names=[OUTPUT_NAME],
            dynamic_axes={name: axes for name in [*input_names, OUTPUT_NAME]},
            opset_version=17,
        )
    model = buffer.getvalue()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(model)
    return model


def save_runtime_model(
    backend: str, transformer: Any, input_names: Sequence[str], output_dir: Path
) -> Path:
    """Write `backend`'s model of `transformer` where sentence-transformers' `backend=` option
    and `Encoder` look for it: `openvino/openvino_model.xml` (+ `.bin`) or `onnx/model.onnx`."""
    if backend == "openvino":
        openvino = _import_extra("openvino")
        path = Path(output_dir) / OPENVINO_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        # float32 weights, as the torch model: compression would change the vectors.
        openvino.save_model(to_openvino(transformer, input_names), str(path), False)
        return path
    if backend == "onnx":
        _import_extra("onnx")
        path = Path(output_dir) / ONNX_FILE
        to_onnx(transformer, input_names, path)
        return path
    raise ValueError(f"Exports write backend 'openvino' or 'onnx' files, got {backend!r}.")

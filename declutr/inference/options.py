"""The choices of `Encoder`'s runtime options, in one light module (no torch) that the `declutr`
command lists in its help: `backend`, `precision`, `long_texts` and `on_error`."""

# "auto" (the default of `backend` and `precision`): the fastest runtime that gives the same
# vectors on this machine (`declutr.inference.choice`).
AUTO = "auto"
# Who runs the transformer: torch, or on the CPU OpenVINO / ONNX Runtime (their extras).
BACKENDS = (AUTO, "torch", "openvino", "onnx")
# The arithmetic inside the transformer (`declutr.inference.runtimes.check_runtime_options` says
# what each device supports).
# int8: OpenVINO only, from an export quantized on the user's texts (`declutr.inference.quantize`).
PRECISIONS = (AUTO, "float32", "bfloat16", "float16", "int8")
# A text longer than `max_length`: cut, or the mean of its windows, weighted by their tokens.
LONG_TEXTS = ("truncate", "chunk_mean")
# The reference runtime, whose vectors every other is checked against (`backend=`, `precision=`):
# for evaluations whose scores must not depend on the machine's runtime choice.
REFERENCE_RUNTIME = {"backend": "torch", "precision": "float32"}
# A line that cannot be read: stop, or write a NaN row / an error line and go on.
ON_ERROR = ("raise", "skip")

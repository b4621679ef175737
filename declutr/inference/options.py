"""The choices of `Encoder`'s runtime options, in one light module (no torch) that the `declutr`
command lists in its help: `backend`, `precision`, `long_texts` and `on_error`."""

# Who runs the transformer: torch, or on the CPU OpenVINO / ONNX Runtime (their extras).
BACKENDS = ("torch", "openvino", "onnx")
# The arithmetic inside the transformer (`declutr.inference.runtimes.check_runtime_options` says
# what each device supports).
PRECISIONS = ("float32", "bfloat16", "float16")
# A text longer than `max_length`: cut, or the mean of its windows, weighted by their tokens.
LONG_TEXTS = ("truncate", "chunk_mean")
# A line that cannot be read: stop, or write a NaN row / an error line and go on.
ON_ERROR = ("raise", "skip")

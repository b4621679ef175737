"""Reliability tests (issue 6): hostile input to the reader, the predictor and `Encoder`, and
model archives that must not run code or load half-read."""

import signal
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail with `TimeoutError` if the block runs longer than `seconds` (main thread, Unix)."""

    def expire(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class WritesMarker:
    """A stand-in for malicious pickled code: unpickling it creates the file `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').close()",))

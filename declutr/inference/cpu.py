"""What this CPU computes natively, read from the instruction-set flags the kernel reports: the
precision checks go by instruction set, not by trial. Tests replace `cpu_flags` to play another
CPU (the computation itself is never mocked)."""

import functools
from pathlib import Path
from typing import FrozenSet, Optional

# Instructions with which a CPU computes bfloat16 matrix products natively (AVX-512 BF16, AMX).
# Without them torch emulates bfloat16: about 5x slower than float32 on an AVX2-only EPYC.
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
# The instruction sets recorded with a runtime choice and every benchmark figure.
REPORTED_FLAGS = frozenset(
    {"avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_bf16", "amx_int8",
     "avx512_fp16"}
)  # fmt: skip
CPUINFO = Path("/proc/cpuinfo")


@functools.cache
def cpu_flags() -> Optional[FrozenSet[str]]:
    """The first processor's flags in /proc/cpuinfo (Linux x86), or None where it says none."""
    try:
        text = CPUINFO.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "flags":
            return frozenset(value.split())
    return None


def has_bf16_instructions() -> Optional[bool]:
    """True or False on a CPU that reports its flags; None where they are unknown (other
    operating systems and architectures), in which case nothing is refused."""
    flags = cpu_flags()
    return None if flags is None else bool(flags & BF16_FLAGS)

"""Precision by instruction set (declutr/inference/cpu.py): bfloat16 in torch on a CPU without
bfloat16 instructions is refused with the reason, before any model loads. Only the capability
query is replaced; what runs is real."""

import pytest

from declutr import Encoder
from declutr.inference import cpu

AVX2_ONLY = frozenset({"fpu", "sse4_2", "avx", "avx2", "fma"})  # an AVX2-only EPYC's kind
AVX512_BF16 = AVX2_ONLY | {"avx512f", "avx512_bf16"}


@pytest.fixture
def cpu_with(monkeypatch):
    def play(flags):
        monkeypatch.setattr(cpu, "cpu_flags", lambda: flags)

    return play


def test_torch_bfloat16_is_refused_without_bfloat16_instructions(tiny_model, cpu_with):
    # Given a CPU with AVX2 only
    cpu_with(AVX2_ONLY)
    # When / Then bfloat16 in torch is refused, naming the instructions and the way out
    with pytest.raises(ValueError, match="no bfloat16 instructions.*avx512_bf16.*float32"):
        Encoder(tiny_model, device="cpu", precision="bfloat16")
    # while float32 runs
    assert Encoder(tiny_model, device="cpu").encode(["one text"]).shape[0] == 1


@pytest.mark.parametrize("flags", [AVX512_BF16, AVX2_ONLY | {"amx_bf16"}, None])
def test_torch_bfloat16_runs_with_the_instructions_or_unknown_flags(tiny_model, cpu_with, flags):
    # Given a CPU with bfloat16 instructions, or one whose flags are unknown (other systems)
    cpu_with(flags)
    # Then bfloat16 in torch is accepted and computes
    encoder = Encoder(tiny_model, device="cpu", precision="bfloat16")
    assert encoder.runtime.precision == "bfloat16"
    assert encoder.encode(["one text"]).shape[0] == 1


def test_cpu_flags_are_read_from_cpuinfo(tmp_path, monkeypatch):
    # Given a /proc/cpuinfo with flags, and one without
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx2 avx512_bf16\n\nprocessor\t: 1\n")
    monkeypatch.setattr(cpu, "CPUINFO", cpuinfo)
    cpu.cpu_flags.cache_clear()
    try:
        assert cpu.cpu_flags() == {"fpu", "avx2", "avx512_bf16"}
        assert cpu.has_bf16_instructions() is True
        cpuinfo.write_text("processor\t: 0\nFeatures\t: fp asimd\n")
        cpu.cpu_flags.cache_clear()
        assert cpu.cpu_flags() is None and cpu.has_bf16_instructions() is None
    finally:
        cpu.cpu_flags.cache_clear()

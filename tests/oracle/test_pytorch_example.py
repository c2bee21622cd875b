"""examples/pytorch_oracle.py runs BPTT-MSM in PyTorch from a mini_bptt plan, records its
trace and compares its gradients with ours. It runs where torch is installed (torch is
never a dependency of mini_bptt or of its tests); elsewhere this test is skipped."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pytorch_oracle.py"


def test_pytorch_implementation_is_valid_and_agrees_per_dtype(capsys):
    torch = pytest.importorskip("torch")
    example = runpy.run_path(str(EXAMPLE))
    for dtype, worst in ((torch.float64, 1e-12), (torch.float32, 1e-5)):
        verdict, comparison = example["check_one_dtype"](dtype)
        assert verdict.valid and verdict.forward_count == verdict.optimal_forward_count
        assert comparison.ok
        assert max(a.max_rel_error for a in comparison.arrays) < worst
    assert example["main"]() == 0
    assert "INVALID" not in capsys.readouterr().out

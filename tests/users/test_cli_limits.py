"""The CLI refuses a request past the resource limits in one line, with no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "1000000", "5%"],
        ["plan", "100000", "5%", "--alpha", "5"],
        ["plan", "99999999999999999999", "3", "--strategy", "hsm"],
        ["plan", "10", "5%", "--alpha", "1e400"],
        ["plan", "1e400", "5%"],
        ["table", "--steps", "1e400", "--memory", "5%"],
    ],
)
def test_cli_refuses_huge_requests_in_one_line(argv):
    run = subprocess.run(
        [sys.executable, "-m", "mini_bptt", *argv], capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2, run.stderr
    assert run.stdout == "" and run.stderr.count("\n") == 1
    assert run.stderr.startswith("mini-bptt: error: ") and "Traceback" not in run.stderr

"""Hostile command lines: each ends at once, in its own process, with exit 2 and one line
on stderr naming the argument, within 5 s and 200 MB (the child's own peak, from
``os.wait4``), whatever the number, file or output path it is given."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import mini_bptt as mb
from mini_bptt.cli import main

HUGE = "1e99999999"
DIGITS = "1" + "0" * 5000  # past Python's 4300-digit limit on int(text)
SECONDS, MEGABYTES = 5.0, 200

# numbers no option accepts, each refused naming its option
HUGE_EXPONENTS = [
    (["plan", "10", HUGE], "memory"),
    (["plan", "10", f"{HUGE}%"], "memory percentage"),
    (["plan", "10", f"-{HUGE}"], "memory"),
    (["plan", "10", "3", "--alpha", HUGE], "--alpha"),
    (["plan", HUGE, "3"], "steps"),
    (["plan", "1e-99999999", "3"], "steps"),
    (["table", "--steps", HUGE, "--memory", "1"], "--steps"),
    (["table", "--steps", f"1:{HUGE}", "--memory", "1"], "--steps"),
    (["table", "--steps", f"1:10:{HUGE}", "--memory", "1"], "--steps step"),
    (["table", "--steps", "10", "--memory", f"1:{HUGE}"], "--memory"),
    (["table", "--steps", "10", "--memory", f"5%,{HUGE}%"], "--memory percentage"),
    (["table", "--steps", "10", "--memory", "1", "--alpha", HUGE], "--alpha"),
    (["run", HUGE, "5%"], "steps"),
    (["run", "10", HUGE], "memory"),
    (["run", "10", "5%", "--batch", HUGE], "--batch"),
    (["run", "10", "5%", "--input-size", HUGE], "--input-size"),
    (["run", "10", "5%", "--hidden-size", HUGE], "--hidden-size"),
]

HUGE_INTEGERS = [
    (["plan", DIGITS, "3"], "steps"),
    (["plan", "10", DIGITS], "memory"),
    (["plan", "10", f"{DIGITS}%"], "memory percentage"),
    (["plan", "10", "3", "--alpha", DIGITS], "--alpha"),
    (["table", "--steps", DIGITS, "--memory", "1"], "--steps"),
    (["table", "--steps", f"1:{DIGITS}", "--memory", "1"], "--steps"),
    (["table", "--steps", "10", "--memory", f"0:{DIGITS}"], "--memory"),
    (["run", "10", "5%", "--batch", DIGITS], "--batch"),
    (["plan", "10", "3", "--alpha", f"1/{DIGITS}"], "--alpha"),
]

BEYOND_ANY_COUNT = [
    (["table", "--steps", "1e400", "--memory", "1", "--strategy", "recompute"], "--steps"),
    (["table", "--steps", "10", "--memory", "1e400"], "--memory"),
    (["table", "--steps", "1e101", "--memory", "1", "--strategy", "hsm"], "--steps"),
    (["plan", "1e101", "3", "--strategy", "hsm"], "steps"),
    (["plan", "10", "3", "--alpha", "1e400"], "alpha"),
    (["plan", "10", "3", "--alpha", "1e-400"], "alpha"),
]


# The CLI runs as a grandchild, started by this small launcher, which reports its peak
# resident size and wall time on file descriptor 3. Linux counts in a child's ru_maxrss
# the memory of the process it was forked from (the pytest process, hundreds of MB after
# the fuzz tests): a launcher of a few MB makes the number the CLI's own.
LAUNCHER = """
import os, subprocess, sys, threading, time
report = int(sys.argv[1])
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
timer = threading.Timer(float(os.environ["HOSTILE_KILL_AFTER"]), child.kill)
timer.start()
_, status, usage = os.wait4(child.pid, 0)
timer.cancel()
child.returncode = os.waitstatus_to_exitcode(status)
os.write(report, f"{usage.ru_maxrss} {time.perf_counter() - started}".encode())
sys.exit(child.returncode)
"""


def run_cli(argv: list[str], stdin=subprocess.DEVNULL, env: dict | None = None):
    """Exit code, stdout, stderr, wall seconds and peak resident MB of ``mini-bptt argv``
    (a hang is killed after three times the time allowed, and fails the test)."""
    read, write = os.pipe()
    try:
        done = subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(write), sys.executable, "-m", "mini_bptt", *argv],
            stdin=stdin,
            capture_output=True,
            env={**os.environ, **(env or {}), "HOSTILE_KILL_AFTER": str(3 * SECONDS)},
            pass_fds=(write,),
            check=False,
        )
        os.close(write)
        write = None
        with os.fdopen(read, "rb") as report:
            kilobytes, seconds = report.read().split()
    finally:
        if write is not None:
            os.close(write)
    return (
        done.returncode,
        done.stdout.decode(),
        done.stderr.decode(),
        float(seconds),
        int(kilobytes) / 1024,
    )


def everyday_few(cases: list, count: int = 1) -> list:
    """The first ``count`` cases in the everyday run, the others in the full run only: each
    starts a process; every case is also refused in-process by the everyday test below."""
    slow = pytest.mark.slow
    return cases[:count] + [pytest.param(*case, marks=slow) for case in cases[count:]]


def assert_refused(argv, named: str, **kwargs) -> str:
    code, out, err, seconds, megabytes = run_cli(argv, **kwargs)
    assert code == 2, (argv, code, err[-500:])
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mini-bptt: error:"), (argv, err[-500:])
    assert named in lines[0], (argv, lines[0])
    assert "Traceback" not in err and "4300" not in err and out == ""
    assert seconds < SECONDS, (argv, seconds)
    assert megabytes < MEGABYTES, (argv, megabytes)
    return lines[0]


@pytest.mark.parametrize("argv, named", everyday_few(HUGE_EXPONENTS))
def test_a_huge_exponent_is_refused_at_once_naming_its_option(argv, named):
    line = assert_refused(argv, named)
    assert "exponent within" in line or "integer" in line


@pytest.mark.parametrize("argv, named", everyday_few(HUGE_INTEGERS))
def test_a_huge_integer_is_refused_by_its_size_naming_its_option(argv, named):
    assert_refused(argv, named)


@pytest.mark.parametrize("argv, named", everyday_few(BEYOND_ANY_COUNT))
def test_numbers_within_the_exponent_but_beyond_any_count_are_refused(argv, named):
    assert_refused(argv, named)


@pytest.mark.parametrize("argv, named", HUGE_EXPONENTS + HUGE_INTEGERS + BEYOND_ANY_COUNT)
def test_every_huge_number_is_refused_in_process_naming_its_option(argv, named, capsys):
    assert main(argv) == 2, argv
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mini-bptt: error:"), (argv, err[-500:])
    assert named in lines[0] and out == "", (argv, lines[0])


@pytest.mark.parametrize("steps, memory", [("1:1e99", "1"), ("1:1e18", "1:1e18")])
def test_a_range_longer_than_a_machine_integer_is_counted_not_measured(steps, memory):
    """``len(range(...))`` raises OverflowError past 2**63: the rows are counted instead."""
    line = assert_refused(["table", "--steps", steps, "--memory", memory], "rows")
    assert "over the limit" in line


def test_a_fifo_is_refused_without_being_opened(tmp_path):
    fifo = tmp_path / "trace.json"
    os.mkfifo(fifo)  # no writer ever opens it: open() for reading would block forever
    assert_refused(["check", str(fifo)], "FIFO")


def test_dev_zero_and_a_directory_are_refused_before_reading(tmp_path):
    assert "trace '/dev/zero' is a character device" in assert_refused(
        ["check", "/dev/zero"], "/dev/zero"
    )
    assert_refused(["check", str(tmp_path)], "is a directory")


def test_dev_zero_as_standard_input_is_refused(tmp_path):
    with open("/dev/zero", "rb") as zero:
        assert_refused(["check", "-"], "standard input is a character device", stdin=zero)


def test_a_file_over_the_input_limit_is_refused_by_its_size(tmp_path):
    path = tmp_path / "trace.json"
    path.write_text(mb.plan(30, 5).to_json())
    limit = {"MINI_BPTT_INPUT_BYTES": "1000"}
    line = assert_refused(["check", str(path)], str(path), env=limit)
    assert "input_bytes" in line and "MINI_BPTT_INPUT_BYTES" in line


def test_standard_input_over_the_limit_is_refused_after_limit_plus_one_bytes(tmp_path):
    """A pipe has no size to look at first: the read itself stops one byte past the limit."""
    path = tmp_path / "big.json"
    path.write_bytes(b" " * 3_000_000)
    with open(path, "rb") as big:
        piped = subprocess.Popen(["cat"], stdin=big, stdout=subprocess.PIPE)
        limit = {"MINI_BPTT_INPUT_BYTES": "1000"}
        line = assert_refused(["check", "-"], "standard input", stdin=piped.stdout, env=limit)
        piped.stdout.close()
        piped.wait()
    assert "holds more than 1000 bytes" in line and "MINI_BPTT_INPUT_BYTES" in line


def test_a_sparse_file_as_standard_input_is_refused_by_its_size(tmp_path):
    """A regular file on standard input has a size: a 2 GiB sparse file is refused at once
    at the default limit, before a byte is read."""
    path = tmp_path / "sparse.json"
    with open(path, "wb") as sparse:
        sparse.truncate(2 * 2**30)
    with open(path, "rb") as big:
        line = assert_refused(["check", "-"], "standard input", stdin=big)
    assert "holds more than 1 GiB" in line


def test_a_nonexistent_trace_is_named():
    assert_refused(["check", "/no/such/trace.json"], "'/no/such/trace.json'")


def test_a_bad_input_limit_in_the_environment_is_named(tmp_path):
    path = tmp_path / "trace.json"
    path.write_text(mb.plan(10, 3).to_json())
    assert_refused(
        ["check", str(path)], "MINI_BPTT_INPUT_BYTES", env={"MINI_BPTT_INPUT_BYTES": HUGE}
    )


@pytest.mark.parametrize(
    "target, named",
    [
        ("missing/plan.gif", "does not exist"),
        ("folder.gif", "is a folder"),
        ("plan.png", "ending in .gif"),
        ("", "ending in .gif"),
    ],
)
def test_bad_animate_paths_are_refused_before_planning(tmp_path, target, named):
    (tmp_path / "folder.gif").mkdir()
    path = str(tmp_path / target) if target else ""
    line = assert_refused(["plan", "10", "3", "--animate", path], named)
    assert line.startswith("mini-bptt: error: --animate")


def test_an_animation_too_long_to_draw_names_animate(tmp_path):
    path = tmp_path / "plan.gif"
    line = assert_refused(
        ["plan", "200", "2", "--strategy", "hsm", "--animate", str(path)], "actions"
    )
    assert line.startswith("mini-bptt: error: --animate") and not path.exists()


@pytest.mark.parametrize("kind", ["a file", "below a file", "empty"])
def test_bad_out_folders_are_refused(tmp_path, kind):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    out = {"a file": str(blocker), "below a file": str(blocker / "figures"), "empty": " "}[kind]
    line = assert_refused(["reproduce", "--quick", "--out", out], "--out")
    assert line.startswith("mini-bptt: error: --out")
    assert blocker.read_text() == "not a folder"
    assert [p.name for p in Path(tmp_path).iterdir()] == ["file"]


def test_in_python_each_kind_of_file_gets_a_named_error(tmp_path):
    from mini_bptt.oracle.trace_file import read_trace_text

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, kind in ((fifo, "a FIFO"), ("/dev/zero", "a character device"), (tmp_path, "a dir")):
        with pytest.raises(ValueError, match=f"trace '{path}' is {kind}"):
            read_trace_text(str(path))
    trace = tmp_path / "trace.json"
    trace.write_text("{}" + " " * 100)
    with mb.resource_limits(input_bytes=102):
        assert read_trace_text(str(trace)) == "{}" + " " * 100
    with mb.resource_limits(input_bytes=101), pytest.raises(mb.ResourceLimitError, match="101"):
        read_trace_text(str(trace))
    with pytest.raises(OSError, match="cannot read trace '/no/such': No such file"):
        read_trace_text("/no/such")
    with pytest.raises(TypeError, match="trace path must be a str"):
        read_trace_text(3)
    with pytest.raises(ValueError, match="NUL character"):
        read_trace_text("trace\0.json")


@pytest.mark.parametrize(
    "sent, code, word", [("SIGINT", 130, "interrupted"), ("SIGTERM", 143, "terminated")]
)
def test_ctrl_c_or_sigterm_during_reproduce_leaves_the_previous_outputs(tmp_path, sent, code, word):
    """A real SIGINT (Ctrl-C) or SIGTERM (timeout, kill, a cancelled job) once the run has
    written its first files: one line, and the folder holds exactly its previous files, no
    staged folder left behind."""
    import signal

    out = tmp_path / "output"
    out.mkdir()
    for name in ("REPORT.md", "hsm_cost_vs_memory.csv"):
        (out / name).write_text(f"previous {name}")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    child = subprocess.Popen(
        [sys.executable, "-m", "mini_bptt", "reproduce", "--quick", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # a shell running the tests in the background ignores SIGINT, and so would the
        # child: give it the default handler a terminal's Ctrl-C meets
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while not any(p.is_dir() and any(p.iterdir()) for p in out.iterdir()):  # a staged file
        assert child.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    child.send_signal(getattr(signal, sent))
    _, err = child.communicate(timeout=60)
    assert child.returncode == code and err.decode().splitlines()[-1] == f"mini-bptt: {word}"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before

"""Stepping through a plan: the frames follow the replay, and the GIF shows them."""

from __future__ import annotations

import json
import os
import re
import stat

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mini_bptt as mb
from mini_bptt import viz
from mini_bptt.cli import main
from mini_bptt.oracle.trace_file import atomic_path
from mini_bptt.planning.replay import Replay
from tests.helpers import examples

BAR = np.array([0x4C, 0x72, 0xB0])  # viz.COLOURS["forward"]: the memory bar
BUDGET = np.array([0xC4, 0x4E, 0x52])  # viz.COLOURS["backward"]: the budget line


def test_frames_follow_the_replay():
    plan = mb.plan(12, 6, alpha=2, strategy="msm")
    frames = viz.plan_frames(plan)
    assert [f.action for f in frames] == list(plan.actions)
    assert [f.used for f in frames] == viz.memory_timeline(plan)
    assert frames[-1].next_backward == 0 and frames[-1].forward_count == plan.forward_count
    for frame in frames:  # what is saved is what the actions saved and did not free
        done = plan.actions[: frame.index + 1]
        for op, saved in (("hidden", frame.hidden), ("internal", frame.internal)):
            kept = {0} if op == "hidden" else set()
            for action in done:
                if action.op == f"save_{op}":
                    kept.add(action.step)
                elif action.op == f"free_{op}":
                    kept.discard(action.step)
            assert set(saved) == kept, (frame.index, op)


def test_animate_refuses_what_it_cannot_draw():
    with pytest.raises(TypeError, match="plan must be a mini_bptt Plan, got list"):
        viz.animate_plan([])
    long = mb.plan(200, 2, strategy="hsm")
    with pytest.raises(ValueError, match=f"plan has {len(long.actions)} actions"):
        viz.animate_plan(long)


def near(image: np.ndarray, colour: np.ndarray) -> np.ndarray:
    return np.abs(image.astype(int) - colour).sum(axis=2) < 60


# slow: matplotlib draws every frame; test_frames_follow_the_replay checks the frames' data
# and the interrupted-GIF tests below write a GIF in the everyday run
@pytest.mark.slow
@pytest.mark.parametrize("steps", [6, 40])
def test_the_gif_has_a_frame_per_action_and_the_bar_stays_within_the_budget(
    tmp_path, capsys, steps
):
    from PIL import Image

    path = tmp_path / "plan.gif"
    assert main(["plan", str(steps), "4", "--strategy", "hsm", "--animate", str(path)]) == 0
    plan = mb.plan(steps, 4, strategy="hsm")
    assert f"wrote {path}: {len(plan.actions)} frames, one per action" in capsys.readouterr().out
    assert os.listdir(tmp_path) == ["plan.gif"]  # nothing left of the partial file
    frames = viz.plan_frames(plan)
    with Image.open(path) as gif:
        assert gif.n_frames == len(plan.actions)
        below = 0
        for k in range(gif.n_frames):
            gif.seek(k)
            image = np.asarray(gif.convert("RGB"))
            lower = image[image.shape[0] // 2 :]  # the memory bar's panel
            budget_columns = np.flatnonzero(near(lower, BUDGET).any(axis=0))
            bar_columns = np.flatnonzero(near(lower, BAR).sum(axis=0) > 5)
            assert len(budget_columns) and len(bar_columns), k
            assert bar_columns.max() <= budget_columns.max(), k  # never past the line
            if frames[k].used < 4:
                assert bar_columns.max() < budget_columns.min() - 5, k  # and it does move
                below += 1
        assert below > 10


def test_the_budget_slider_spans_one_unit_to_full_bptt_and_redraws(capsys):
    widget = viz.budget_slider(12, alpha=2, strategy="msm")
    slider, _ = widget.children
    assert (slider.min, slider.max, slider.step) == (1.0, 23.0, 1.0)
    slider.value = 3.0  # redraws without error; outside a notebook it prints nothing else
    slider.value = 23.0
    with pytest.raises(ValueError, match="steps must be an integer >= 1, got 0"):
        viz.budget_slider(0)


@pytest.mark.parametrize(
    "stop",
    [
        KeyboardInterrupt,
        # the same atomic_path cleanup, for another exception: in the full run
        pytest.param(OSError(28, "No space left on device"), marks=pytest.mark.slow),
    ],
)
def test_an_interrupted_gif_leaves_the_previous_one_as_it_was(tmp_path, monkeypatch, stop):
    """The writer dies half-way through the file: the previous GIF is untouched and no
    partial file is left."""
    from matplotlib.animation import PillowWriter

    path = tmp_path / "plan.gif"
    path.write_bytes(b"GIF89a, the previous one")
    before = path.read_bytes()

    def finish(writer):
        with open(writer.outfile, "wb") as handle:
            handle.write(b"GIF89a, and no more")
        raise stop

    monkeypatch.setattr(PillowWriter, "finish", finish)
    argv = ["plan", "3", "2", "--strategy", "hsm", "--animate", str(path)]
    assert main(argv) == (130 if stop is KeyboardInterrupt else 2)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["plan.gif"]


def test_an_interrupted_picture_leaves_the_previous_one(tmp_path, monkeypatch):
    import matplotlib.figure

    path = tmp_path / "plan.png"
    path.write_bytes(b"the previous picture")

    def savefig(figure, target, **kwargs):
        with open(target, "wb") as handle:
            handle.write(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    with pytest.raises(KeyboardInterrupt):
        viz.show_plan(mb.plan(10, 3, strategy="hsm"), path=str(path))
    assert path.read_bytes() == b"the previous picture" and os.listdir(tmp_path) == ["plan.png"]


def test_an_atomic_file_gets_the_permissions_open_would_give(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    with atomic_path(tmp_path / "out.txt") as partial:
        assert partial.parent == tmp_path and partial.suffix == ".txt"
        partial.write_text("whole")
    mode = stat.S_IMODE((tmp_path / "out.txt").stat().st_mode)
    assert mode == 0o666 & ~umask
    with pytest.raises(IsADirectoryError), atomic_path(tmp_path):
        pass


@settings(max_examples=examples(60), deadline=None)
@given(
    steps=st.integers(1, 25),
    fraction=st.fractions(0, 1),
    alpha=st.sampled_from([1, 2, 4.5]),
    strategy=st.sampled_from(["hsm", "ism", "msm"]),
)
def test_each_frame_says_why_its_action_is_there(steps, fraction, alpha, strategy):
    """Checked against a replay of the plan: a forward is "again" exactly when its step
    was computed before; a backward reads the core exactly when the core holds its state;
    a save names the step that reads it next."""
    full = 1 + alpha * (steps - 1)
    plan = mb.plan(steps, float(1 + fraction * (full - 1)), alpha=alpha, strategy=strategy)
    frames = viz.plan_frames(plan)
    assert [f.reason for f in frames] == viz.action_reasons(plan.actions, plan.steps)
    replay = Replay(plan.steps, plan.problem.grains, None, plan.internal_has_output)
    computed = set()
    for index, (action, frame) in enumerate(zip(plan.actions, frames, strict=True)):
        op, i = action.op, action.step
        assert str(i) in frame.reason, frame.reason
        if op == "forward":
            assert frame.reason.startswith(
                f"forward {i} again" if i in computed else f"forward {i}:"
            )
            computed.add(i)
        elif op == "backward":
            from_core = replay.core == i
            assert frame.reason.endswith(f"s[{i}] in the core" if from_core else f"saved s[{i}]")
        elif op == "save_hidden":
            later = plan.actions[index + 1 :]
            restore = next(k for k, a in enumerate(later) if a == mb.Action("restore_hidden", i))
            reversed_next = next(a.step for a in later[restore:] if a.op == "backward")
            assert (
                frame.reason == f"save h[{i}]: the forward restarts here for step {reversed_next}"
            )
        replay.apply(index, op, i)


def test_a_backward_after_a_restore_reads_the_saved_state_not_the_core():
    # s[2] was in the core, but restore_hidden 0 emptied it: backward 2 reads the saved one
    actions = [("forward", 1), ("forward", 2), ("save_internal", 2), ("restore_hidden", 0)]
    actions += [("backward", 2), ("free_internal", 2), ("forward", 1), ("backward", 1)]
    plan = mb.Plan(2, 2, 1, True, "by hand", "none", actions)
    reasons = viz.action_reasons(plan.actions, plan.steps)
    assert reasons[4] == "backward 2: reverse step 2 from the saved s[2]"
    assert reasons[7] == "backward 1: reverse step 1 from s[1] in the core"
    assert reasons[2] == "save s[2]: backward 2 reads it, so step 2 is not recomputed"
    assert reasons[3] == "restore h[0]: restart the forward at h[0] for step 1"


def test_the_static_slider_holds_the_optimal_plan_of_each_budget_of_its_grid():
    html = viz.budget_slider_html(12, alpha=2, strategy="msm", budgets=5)
    frames = json.loads(re.search(r"var frames = (\[.*?\]);\n", html).group(1))
    memories = [f["memory"] for f in frames]
    assert memories[0] == 1 and memories[-1] == 1 + 2 * 11  # h[0] alone .. full BPTT
    assert memories == sorted(set(memories)) and len(frames) == 5
    for frame in frames:
        expected = mb.plan(12, frame["memory"], alpha=2)
        assert frame["forward_count"] == expected.forward_count
        assert frame["peak_memory"] == expected.peak_memory
        assert frame["image"].startswith("data:image/png;base64,")
    assert 'type="range" min="0" max="4"' in html and "http" not in html  # no network
    hsm = json.loads(
        re.search(r"var frames = (\[.*?\]);\n", viz.budget_slider_html(6, strategy="chen")).group(1)
    )
    assert hsm[0]["memory"] == mb.plan(6, "100%", strategy="chen").peak_memory  # its least


@pytest.mark.parametrize(
    ("budgets", "error"),
    [(1, ValueError), (viz.MAX_SLIDER_BUDGETS + 1, ValueError), (2.5, TypeError)],
)
def test_the_static_slider_names_a_bad_budget_count(budgets, error):
    with pytest.raises(error, match="budgets"):
        viz.budget_slider_html(6, budgets=budgets)

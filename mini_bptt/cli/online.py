"""``mini-bptt online``: the online planner for a loop that learns its length only when it
stops, against the offline optimum that knows it, or its whole trace as JSON."""

from __future__ import annotations

import csv
import sys

from mini_bptt.cli.options import UsageError, shown_value, value_count
from mini_bptt.common.arguments import shown
from mini_bptt.planning import limits
from mini_bptt.planning.online import OnlinePlanner
from mini_bptt.planning.plan import cost


def online_command(args) -> int:
    """One CSV row per T of ``--steps`` (ratio of the online plan's forwards to the
    offline optimum's), or with ``--json`` the plan ``finish(T)`` gives for one T."""
    lengths = sorted(set(args.steps))
    longest, limit = lengths[-1], limits.current().actions
    if longest > limit:  # a plan of T steps has at least 2T actions; the walk is O(T M)
        raise UsageError(
            f"--steps {shown(longest)} is over the limit of {shown(limit)} actions; use fewer "
            "steps, or raise MINI_BPTT_ACTIONS"
        )
    kwargs = dict(alpha=args.alpha, internal_has_output=args.internal_has_output)
    planner = OnlinePlanner(args.memory, **kwargs)
    if args.json:
        if value_count(args.steps) != 1:
            raise UsageError("--json prints one plan: give --steps a single T")
        for i in range(1, longest):
            planner.step(i)
        print(planner.finish(longest).to_json())
        return 0
    offline = [cost(t, args.memory, strategy="msm", **kwargs) for t in lengths]  # checks all
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["steps", "memory", "online_forward_count", "offline_forward_count", "ratio"])
    counts = planner.forward_counts(longest)  # finish(T).forward_count, without the plans
    for steps, best in zip(lengths, offline, strict=True):
        forwards = int(counts[steps])
        writer.writerow([steps, shown_value(args.memory), forwards, best, f"{forwards / best:.4f}"])
    return 0

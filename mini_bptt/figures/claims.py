"""The rows of REPORT.md: each of the paper's claims, where the paper makes it, what the
run measured, and a verdict computed from that measurement (``verdicts``).

``claims(results)`` takes what every figure's ``run`` returned, keyed by module name.
Figure and section numbers are those of the paper (arXiv:1606.03401): section 3
BPTT-HSM, 5 BPTT-MSM, 6 its analytical upper bounds, 7 the comparison with Chen's
sqrt(t) algorithm, 8 the experiments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mini_bptt.figures import verdicts
from mini_bptt.figures.verdicts import Verdict


@dataclass(frozen=True)
class Claim:
    """One row: ``where`` in the paper, what it ``says``, what we ``measure``, the
    ``verdict``, and the ``output`` (figure name) that holds the full series."""

    where: str
    says: str
    measure: str
    verdict: Verdict
    output: str


def claims(r: dict) -> list[Claim]:
    """Every row of REPORT.md's table, in the paper's order."""
    return [
        *_hsm(r["divide_and_conquer"], r["hsm_cost_vs_memory"]),
        *_strategies(r["strategies"]),
        *_chen(r["memory_at_fixed_cost"], r["cost_at_chen_memory"]),
        *_bounds(r["bounds"]),
        *_lstm(r["lstm_experiment"], r["strategies"]),
    ]


def _hsm(split: dict, hsm: dict) -> list[Claim]:
    t, m, y = split["steps"], split["memory"], split["split"]
    off = split["parts_off_the_recursion"] + (split["forward_count"] != split["recursion_at_split"])
    return [
        Claim(
            "Fig. 1 (§3)",
            "An optimal BPTT-HSM plan runs to y and saves h[y], reverses the right part with "
            "m - 1 slots, then the left part with m: C(t, m) = y + C(t - y, m - 1) + C(y, m)",
            f"the paper's HSM plan for T = {t}, m = {m}: first save at y = {y}, "
            f"{split['forward_count']} forwards; y + C(t - y, m - 1) + C(y, m) = "
            f"{split['recursion_at_split']}; of its {split['parts']} sub-problems (parsed from "
            f"its actions) {split['parts_off_the_recursion']} cost other than C of their size",
            verdicts.at_most(off, 0, "sub-problems off the recursion"),
            "divide_and_conquer",
        ),
        Claim(
            "Fig. 2 (§3)",
            "Chen's sqrt(t) checkpointing needs about 2 forwards per step",
            f"{hsm['chen_T1000_forward_per_step']:.3f} at T = 1000 with "
            f"{hsm['chen_T1000_memory']} units (alpha = 1); BPTT-HSM with as many hidden "
            f"states: {hsm['hsm_T1000_forward_per_step_at_chen_memory']:.3f}",
            verdicts.near(hsm["chen_T1000_forward_per_step"], 2.0, 0.05, 0.25),
            "hsm_cost_vs_memory",
        ),
    ]


def _strategies(s: dict) -> list[Claim]:
    excess = s["msm_excess_over_hsm_ism"]
    return [
        Claim(
            "Fig. 5 (§5)",
            "BPTT-MSM, free to save either kind of state, never needs more forwards than "
            "BPTT-HSM or BPTT-ISM with the same memory",
            f"largest excess of MSM over the cheaper of HSM and ISM, T = {s['steps']}, "
            f"alpha in {', '.join(map(str, s['alphas']))}, every budget up to "
            f"{s['largest_memory']} units: {excess['optimal']} forwards (optimal model), "
            f"{excess['paper']} (paper's recursions)",
            verdicts.at_most(max(excess.values()), 0, "largest excess"),
            "strategies",
        )
    ]


def _chen(fixed: dict, cheap: dict) -> list[Claim]:
    rows, t = [], fixed["steps"]
    for beta, paper in fixed["ratio_by_beta"].items():
        ours, peak = fixed["ratio_to_chen_plan_by_beta"][beta], fixed["chen_plan_memory_by_beta"]
        rows.append(
            Claim(
                "Fig. 6, left (§7)",
                "For 2 forwards per step MSM needs less memory than Chen's sqrt(t)(1 + beta)",
                f"beta = {beta}, T = {t}: {fixed['memory_by_beta'][beta]} units; Chen's own "
                f"plan {peak[beta]} (ratio {ours:.3f}); sqrt(t)(1 + beta) = "
                f"{math.sqrt(t) * (1 + beta):.1f} (ratio {paper:.3f})",
                verdicts.below_chen(ours, paper, "MSM's memory"),
                "memory_at_fixed_cost",
            )
        )
    chen, t = cheap["chen_forward_per_step"], cheap["steps"]
    for beta, paper in cheap["forward_per_step_by_beta"].items():
        ours = cheap["forward_per_step_at_chen_peak_by_beta"][beta]
        rows.append(
            Claim(
                "Fig. 6, right (§7)",
                "Given Chen's memory sqrt(t)(1 + beta), MSM needs fewer forwards than Chen",
                f"beta = {beta}, T = {t}: {ours:.3f} per step at Chen's own peak "
                f"({cheap['chen_peak_memory_by_beta'][beta]} units), {paper:.3f} at "
                f"sqrt(t)(1 + beta) = {cheap['memory_by_beta'][beta]:.1f} units; Chen "
                f"{chen:.3f}",
                verdicts.below_chen(ours / chen, paper / chen, "MSM's forwards"),
                "cost_at_chen_memory",
            )
        )
    return rows


def _bounds(b: dict) -> list[Claim]:
    lengths = [row["steps"] for row in b["table"] if row["regime"] == "log"]
    spans = f"T = {lengths[0]} to {lengths[-1]}"
    cost, memory = b["bisection_cost_over_t_log_t"], b["bisection_memory_over_log_t"]
    spread = max(max(v) / min(v) for v in (cost, memory))
    shown = ", ".join
    return [
        Claim(
            "§6",
            "C(t, m) <= m t^(1 + 1/m)",
            f"largest C / bound = {b['largest_exact_over_m_bound']} (t <= 1e5, m in 2, 5, 10, 50)",
            verdicts.at_most(b["largest_exact_over_m_bound"], 1, "largest C / bound"),
            "bounds",
        ),
        Claim(
            "§6",
            "C(t, m) < 4 t^(1 + 1/m) for t < 1e5, m < 1e3",
            f"largest C / bound = {b['largest_exact_over_4_bound']}",
            verdicts.at_most(b["largest_exact_over_4_bound"], 1, "largest C / bound"),
            "bounds",
        ),
        Claim(
            "§6",
            "t < m^a / a! implies C(t, m) <= (a + 1) t",
            f"largest C / bound = {b['largest_exact_over_a_bound']}",
            verdicts.at_most(b["largest_exact_over_a_bound"], 1, "largest C / bound"),
            "bounds",
        ),
        Claim(
            "§6, §7",
            "With the O(log t) memory of Chen's recursive variant the DP costs no more "
            "than that variant",
            f"largest DP / bisection forwards at equal memory: "
            f"{b['largest_dp_over_bisection']} ({spans}; table below)",
            verdicts.at_most(b["largest_dp_over_bisection"], 1, "largest ratio"),
            "bounds",
        ),
        Claim(
            "§7",
            "Chen's recursive variant holds O(log t) states for O(t log t) forwards",
            f"states / log2 T: {shown(map(str, memory))}; forwards / (T log2 T): "
            f"{shown(map(str, cost))} ({spans})",
            verdicts.at_most(round(spread, 3), 2, "largest over smallest of either ratio"),
            "bounds",
        ),
    ]


def _lstm(lstm: dict, strat: dict) -> list[Claim]:
    sweep, t = lstm["by_length"], lstm["steps"]
    saved = 100 * lstm["memory_saved_at_5%"]
    return [
        Claim(
            "§8, abstract",
            f"LSTM, T = {t}, MSM at 5% of BPTT's memory: 95% less memory",
            f"{saved:.1f}% less (tracemalloc peak) at a 5% budget; 95% less at a "
            f"{lstm['point']} budget ({100 * lstm['memory_saved_at_point']:.1f}% measured)",
            verdicts.near(saved, 95.0, 1.0, 5.0, "%"),
            "lstm_experiment",
        ),
        Claim(
            "§8, abstract",
            "... for about 1.33x the time per iteration (one third more)",
            f"at 5%: {lstm['time_ratio_at_5%']:.2f}x measured (default malloc), "
            f"{lstm['time_ratio_at_5%_freed_memory_kept']:.2f}x with freed memory kept, "
            f"{lstm['time_ratio_predicted_at_5%']:.2f}x predicted from "
            f"{lstm['forward_per_step_at_5%']:.3f} forwards/step and a measured "
            f"backward/forward time of {lstm['backward_over_forward_time']:.2f}. At "
            f"{lstm['point']}: {lstm['time_ratio_at_point']:.2f}x, "
            f"{lstm['time_ratio_at_point_freed_memory_kept']:.2f}x, predicted "
            f"{lstm['time_ratio_predicted_at_point']:.2f}x",
            verdicts.near(lstm["time_ratio_at_5%"], 1.33, 0.05, 0.15, "x"),
            "lstm_experiment",
        ),
        Claim(
            "§8 (implied)",
            "1.33x implies, if a backward costs two forwards, about 1.95 forwards per step at "
            "5% of alpha T with alpha about 5",
            f"{strat['msm_forward_per_step_at_5%_alpha5']:.3f} (optimal), "
            f"{strat['msm_paper_forward_per_step_at_5%_alpha5']:.3f} (paper's recursion), "
            f"T = {strat['steps']}",
            verdicts.near(strat["msm_forward_per_step_at_5%_alpha5"], 1.95, 0.02, 0.1),
            "strategies",
        ),
        Claim(
            "§8, abstract",
            "Particularly effective for long sequences: at one 5% budget the forwards per "
            "step, and so the time over full BPTT, fall as T grows",
            f"time over full BPTT ({sweep['timing']}) at T = "
            + ", ".join(
                f"{n}: {x:.2f}x ({f:.2f} forwards/step)"
                for n, x, f in zip(
                    sweep["steps"], sweep["time_ratio"], sweep["forward_per_step"], strict=True
                )
            ),
            verdicts.backed_by(
                verdicts.falls(sweep["forward_per_step"], 0.02, "forwards per step"),
                verdicts.falls(sweep["time_ratio"], 0.03, "measured time over full BPTT"),
            ),
            "lstm_lengths",
        ),
    ]

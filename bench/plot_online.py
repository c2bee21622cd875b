"""The online planner's ratio to C(T, M) against T, and its table, from the bench's JSON.

Reads bench/results/bench_online.json (``bench/bench_online.py``) and writes

* docs/_static/online_ratio.png: per alpha, the worst ratio in each bin of T (log-spaced)
  for every M, the hidden-only baseline dashed, and the goals (1.10; 1.25 at M = 8);
* the table of docs/online.md between its ``<!-- bench_online table -->`` markers: worst
  (at T), mean, T over the goal, and the baseline, per case; and the timings below it.

Both are written whole or not at all (``atomic_path``: a temporary file, then moved); nothing in
them is typed by hand. ``python bench/plot_online.py [--json PATH] [--png PATH] [--doc PATH]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mini_bptt.oracle.trace_file import atomic_path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- bench_online table -->", "<!-- end bench_online table -->"


def table(result: dict) -> str:
    """The markdown between the markers."""
    lines = [
        f"Every `T` from 1 to {result['cases'][0]['steps']:,} "
        f"(`python {result['command']}`; the JSON, with the machine, is "
        "`bench/results/bench_online.json`):",
        "",
        "| alpha | M | worst ratio (at T) | mean ratio | T over the goal | "
        "hidden-only worst (at T) | hidden-only mean | finish checked |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in result["cases"]:
        ours, base = case["online"], case["hidden_only"]
        over = ours["over_goal"]
        where = ", ".join(str(t) for t in ours["over_goal_at"][:8])
        shown = f"{over} (T = {where})" if over else "0"
        lines.append(
            f"| {case['alpha']} | {case['memory']} | {ours['worst']:.3f} ({ours['at']}) "
            f"| {ours['mean']:.3f} | {shown} | {base['worst']:.3f} ({base['at']}) "
            f"| {base['mean']:.3f} | {checked(case['checked_finish_up_to'])} |"
        )
    lines.append("")
    lines.append(
        "The goal is a worst ratio of 1.10 (1.25 at M = 8) and a mean of 1.03; "
        "*finish checked*: `mb.check` accepted `finish(T)` within M for every such T"
        + (" (`python bench/bench_online.py --check-only`)." if "check_command" in result else ".")
    )
    timings = result.get("timings")
    if timings:
        lines += [
            "",
            "**Speed**, in the same run, at M = 64:",
            "",
            "| alpha | step, µs a call (10^5 steps) | finish(10^4), s | ratio | "
            "finish(10^5), s | ratio |",
            "|---|---|---|---|---|---|",
        ]
        for row in timings:
            lines.append(
                f"| {row['alpha']} | {row['step_us_per_call']:.1f} | "
                f"{row['finish_s_10000']:.2f} | {row['ratio_10000']:.4f} | "
                f"{row['finish_s_100000']:.2f} | {row['ratio_100000']:.4f} |"
            )
    return "\n".join(lines)


def checked(up_to: int) -> str:
    return f"every T <= {up_to}" if up_to else "not run"


def update_doc(doc: Path, result: dict) -> None:
    text = doc.read_text(encoding="utf-8")
    if text.count(BEGIN) != 1 or text.count(END) != 1:
        raise SystemExit(f"{doc}: expected one {BEGIN} ... {END} block")
    head, rest = text.split(BEGIN)
    _, tail = rest.split(END)
    new = f"{head}{BEGIN}\n{table(result)}\n{END}{tail}"
    with atomic_path(doc) as partial:
        partial.write_text(new, encoding="utf-8")


def plot(result: dict, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    alphas = sorted({case["alpha"] for case in result["cases"]})
    fig, axes = plt.subplots(1, len(alphas), figsize=(5.2 * len(alphas), 4.2), sharey=True)
    axes = list(axes) if len(alphas) > 1 else [axes]
    colors = {8: "tab:purple", 16: "tab:red", 32: "tab:blue", 64: "tab:green"}
    for ax, alpha in zip(axes, alphas, strict=True):
        for case in (c for c in result["cases"] if c["alpha"] == alpha):
            color = colors.get(case["memory"], "black")
            ours, base = case["curve"]["online"], case["curve"]["hidden_only"]
            ax.step(
                ours["first_t"],
                ours["worst"],
                where="post",
                color=color,
                label=f"M = {case['memory']}",
            )
            ax.step(
                base["first_t"],
                base["worst"],
                where="post",
                color=color,
                linestyle=":",
                linewidth=0.9,
            )
        ax.axhline(1.10, color="black", linewidth=0.8, linestyle="--")
        ax.axhline(1.25, color="tab:purple", linewidth=0.8, linestyle="--")
        ax.set_xscale("log")
        ax.set_ylim(0.99, 1.5)
        ax.set_xlabel("T (the loop's length, revealed at the end)")
        ax.set_title(f"alpha = {alpha}")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("worst forward count / C(T, M) in each bin of T")
    axes[0].legend(title="online (dotted: hidden only)", fontsize=8, loc="upper right")
    fig.tight_layout()
    with atomic_path(png) as partial:  # the suffix kept: savefig writes PNG
        fig.savefig(partial, dpi=100)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default=str(ROOT / "bench/results/bench_online.json"))
    parser.add_argument("--png", default=str(ROOT / "docs/_static/online_ratio.png"))
    parser.add_argument("--doc", default=str(ROOT / "docs/online.md"))
    args = parser.parse_args(argv)
    result = json.loads(Path(args.json).read_text(encoding="utf-8"))
    png = Path(args.png)
    png.parent.mkdir(parents=True, exist_ok=True)
    plot(result, png)
    update_doc(Path(args.doc), result)
    print(f"wrote {png} and the table of {args.doc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

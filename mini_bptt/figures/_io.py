"""Writing a figure's CSV and PNG."""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from mini_bptt.oracle.trace_file import staged_folder
from mini_bptt.viz.plots import _pyplot


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def figure(ncols: int = 1, nrows: int = 1, size=(6.5, 4.2)):
    plt = _pyplot()
    return plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False)


def save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _pyplot().close(fig)


def script_main(module) -> None:
    """Entry point of a ``paper_figures/`` script: ``python paper_figures/x.py [OUT] [--quick]``."""
    args = [a for a in sys.argv[1:] if a != "--quick"]
    out = Path(args[0] if args else "paper_figures/output")
    with staged_folder(out) as stage:  # its files appear together, or not at all
        summary = module.run(stage, quick="--quick" in sys.argv)
    for key, value in summary.items():
        print(f"{key}: {value}")

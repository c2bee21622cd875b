"""The paper's figures, one module each; ``paper_figures/`` has a script per module and
``mini-bptt reproduce`` runs them all. Each module has ``TITLE`` and
``run(out: Path, quick: bool) -> dict`` writing ``<name>.png`` and ``<name>.csv`` and
returning the numbers REPORT.md quotes; a figure that runs for minutes also takes
``progress``, called as ``progress(done, total)`` with its own count of work.

Beside them: ``lstm_lengths`` (the LSTM at other lengths, run by ``lstm_experiment``),
``claims`` (REPORT.md's rows) and ``verdicts`` (how a row's verdict follows from its
numbers)."""

from mini_bptt.figures import (
    bounds,
    cost_at_chen_memory,
    divide_and_conquer,
    hsm_cost_vs_memory,
    lstm_experiment,
    memory_at_fixed_cost,
    policies,
    strategies,
)

FIGURES = (
    divide_and_conquer,
    hsm_cost_vs_memory,
    strategies,
    memory_at_fixed_cost,
    cost_at_chen_memory,
    bounds,
    policies,
    lstm_experiment,
)

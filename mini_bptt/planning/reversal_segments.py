"""The actions of one segment of a reversal: the optimal model's plan of table S, P or R.

``Reversal.actions`` (``reversal.py``) strings segments together: each reverses ``t``
steps after position ``a`` with ``m`` grains, from a held h[a] (S), from the cursor with
nothing holding h[a] (P), or from a saved s[a] that is reversed last (R), exactly as
``dp_optimal.optimal_actions`` writes the whole sequence.
"""

from __future__ import annotations

from mini_bptt.planning.actions import BACKWARD, FORWARD, FREE_HIDDEN, SAVE_HIDDEN, SAVE_INTERNAL
from mini_bptt.planning.emitter import Emitter
from mini_bptt.planning.engine import best_split_option
from mini_bptt.planning.table_spec import Run, Same, Single
from mini_bptt.planning.units import Grains


def emit_segment(out: Emitter, tables, units: Grains, kind: str, a: int, t: int, m: int) -> None:
    """Emit the optimal model's plan of table ``kind`` (S, P or R) for ``t`` steps after
    position ``a`` with ``m`` units, as ``dp_optimal.optimal_actions`` does for the whole."""
    if t == 0:
        return
    specs = tables.by_name
    H, A = units.hidden, units.internal

    def sub(name: str, a: int, t: int, m: int):
        if name == "P":
            return lambda: solve_p(a, t, m)
        return lambda: solve_start(name, a, t, m)

    def save_then_reverse(name: str, y: int, t: int, m: int):
        out.emit(SAVE_INTERNAL, y)
        out.then(sub(name, y, t, m), lambda: out.reverse_saved_internal(y))

    def solve_start(name: str, a: int, t: int, m: int) -> None:
        owns_start = name == "S"
        held = H if owns_start else 0
        out.start_at(a)
        if t == 1:
            if owns_start:
                out.emit(FREE_HIDDEN, a)
            out.emit(FORWARD, a + 1)
            out.emit(BACKWARD, a + 1)
            return
        option, y = best_split_option(tables, specs[name], t, m)
        if isinstance(option, Run):
            out.forward_to(a + t)
            out.emit(BACKWARD, a + t)
            out.then(sub(name, a, t - 1, m))
        elif isinstance(option, Single):
            if owns_start:
                out.emit(FREE_HIDDEN, a)
            out.emit(FORWARD, a + 1)
            save_then_reverse(option.table, a + 1, t - 1, m - A)
        else:
            out.forward_to(a + y)
            out.then(sub("P", a + y, t - y, m - held), sub(name, a, y, m))

    def solve_p(a: int, t: int, m: int) -> None:
        if t == 1:
            out.emit(FORWARD, a + 1)
            out.emit(BACKWARD, a + 1)
            return
        option, _ = best_split_option(tables, specs["P"], t, m)
        if isinstance(option, Same):
            out.emit(SAVE_HIDDEN, a)
            out.then(sub("S", a, t, m))
        else:
            out.emit(FORWARD, a + 1)
            save_then_reverse(option.table, a + 1, t - 1, m - A)

    out.run(sub(kind, a, t, m))

"""The vocabulary of the DP tables: a table, the options it is the minimum of, and progress.

A table ``X[t, M]`` is the minimum number of forward evaluations to reverse ``t`` steps
with a budget of ``M`` grains free (a grain is the integer unit of memory: a hidden state
is ``q`` grains, see ``units``). Each table is the minimum of a few *options*, each of
one of four shapes (reading other tables at smaller ``t``, or a table filled earlier for
the same ``t``):

    Run(Y)                   t + Y[t-1, M]                      no save, reverse the last step
    Single(Y, shift)         1 + Y[t-1, M - shift]              save after one step
    Split(L, lo, R, shift)   min_y  y + L[y + lo, M] + R[t - y, M - shift]
    Same(Y)                  Y[t, M]                            (Y filled earlier for this t)

The engines that fill such tables are in ``mini_bptt.planning.engine``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    """``t + Y[t-1, M]``: no save, reverse the last step by running forward from the start."""

    table: str


@dataclass(frozen=True)
class Single:
    """``1 + Y[t-1, M - shift]``: save after one step, which holds ``shift`` grains."""

    table: str
    shift: int


@dataclass(frozen=True)
class Split:
    """``min_y y + L[y + lo, M] + R[t - y, M - shift]`` over ``y_min <= y <= t - 1``."""

    left: str
    lo: int  # 0: left part is L[y]; -1: left part is L[y - 1] (step y reversed from a saved s[y])
    right: str
    shift: int
    y_min: int = 1


@dataclass(frozen=True)
class Same:
    """``Y[t, M]``: the entry of a table filled earlier for the same ``t``."""

    table: str


@dataclass(frozen=True)
class TableSpec:
    """A table: its name, the least budget (grains) it is defined for, and its options (in
    fill order)."""

    name: str
    min_grains: int
    options: tuple


Progress = Callable[[int, int], None]


def option_shift(option) -> int:
    """The grains an option's read part has fewer than its table (0 for Run and Same)."""
    return option.shift if isinstance(option, Single | Split) else 0

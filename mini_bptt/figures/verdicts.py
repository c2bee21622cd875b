"""Verdicts of REPORT.md: each compares a measured number with what the paper states,
within a stated tolerance, so that the text follows the numbers of the run.

Three outcomes: "reproduced"; "reproduced with a difference: ..." (the claim holds in
its direction but the number is off by more than the tolerance, or it holds only in one
of two accountings); "not reproduced: ...".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

REPRODUCED = "reproduced"
DIFFERENT = "reproduced with a difference"
NOT_REPRODUCED = "not reproduced"
OUTCOMES = (REPRODUCED, DIFFERENT, NOT_REPRODUCED)


@dataclass(frozen=True)
class Verdict:
    """An outcome (one of ``OUTCOMES``) and why, as REPORT.md prints it."""

    outcome: str
    reason: str

    def __str__(self) -> str:
        if self.outcome == REPRODUCED:
            return f"{self.outcome} ({self.reason})"
        return f"{self.outcome}: {self.reason}"


def near(measured: float, stated: float, tolerance: float, loose: float, unit: str = "") -> Verdict:
    """The paper states ``stated``: reproduced when ``measured`` is within ``tolerance`` of
    it, with a difference when within ``loose``, else not reproduced."""
    gap = abs(measured - stated) - 1e-9  # a gap of exactly the tolerance, in decimals, is within
    shown = f"{measured:.3g}{unit} against {stated:.3g}{unit}"
    if gap <= tolerance:
        return Verdict(REPRODUCED, f"{shown}, within {tolerance:g}{unit}")
    if gap <= loose:
        return Verdict(DIFFERENT, f"{shown}, more than {tolerance:g}{unit} apart")
    return Verdict(NOT_REPRODUCED, f"{shown}, more than {loose:g}{unit} apart")


def at_most(measured: float, limit: float, what: str) -> Verdict:
    """The paper states ``what`` is at most ``limit``: reproduced when ``measured`` is."""
    if measured <= limit:
        return Verdict(REPRODUCED, f"{what} {measured:.4g} <= {limit:g}")
    return Verdict(NOT_REPRODUCED, f"{what} {measured:.4g} > {limit:g}")


def below_chen(same_accounting: float, paper_normalised: float, what: str) -> Verdict:
    """The paper states MSM beats Chen's sqrt(t): ``what`` (MSM's memory or forwards over
    Chen's) is below 1. ``same_accounting`` compares with Chen's own plan replayed under
    the rules MSM is charged by; ``paper_normalised`` with the paper's sqrt(t)(1 + beta),
    which charges each of Chen's internal states beta = alpha - 1 units, not alpha."""
    if same_accounting >= 1:
        return Verdict(
            NOT_REPRODUCED, f"{what} {same_accounting:.3f} of Chen's own plan, not below it"
        )
    if paper_normalised >= 1:
        return Verdict(
            DIFFERENT,
            f"{what} {same_accounting:.3f} of Chen's own plan, but {paper_normalised:.3f} "
            "in the paper's sqrt(t)(1 + beta), which charges Chen one unit less per "
            "internal state than MSM (see below)",
        )
    return Verdict(
        REPRODUCED,
        f"{what} {same_accounting:.3f} of Chen's own plan, {paper_normalised:.3f} in the "
        "paper's sqrt(t)(1 + beta)",
    )


def falls(values: Sequence[float], tolerance: float, what: str) -> Verdict:
    """The paper states ``what`` falls as the sequence grows: reproduced when the value at
    the last (longest) point is below the first by more than ``tolerance``, with a
    difference when it is at least no higher, else not reproduced."""
    first, last = values[0], values[-1]
    shown = f"{what} {first:.3g} at the shortest, {last:.3g} at the longest"
    if last < first - tolerance:
        return Verdict(REPRODUCED, f"{shown}, lower by more than {tolerance:g}")
    if last <= first:
        return Verdict(DIFFERENT, f"{shown}, lower by less than {tolerance:g}")
    return Verdict(NOT_REPRODUCED, f"{shown}, higher")


def backed_by(claim: Verdict, check: Verdict) -> Verdict:
    """``claim`` judged on a number that is exact (a forward count), ``check`` on one
    measured with noise (a wall time): reproduced when both are, with a difference when
    only the exact one is, and as ``claim`` says when that one is not reproduced."""
    if claim.outcome == NOT_REPRODUCED:
        return claim
    if claim.outcome == check.outcome == REPRODUCED:
        return Verdict(REPRODUCED, f"{claim.reason}; {check.reason}")
    return Verdict(DIFFERENT, f"{claim.reason}; but {check.reason}")

"""What a run of a plan really held: the plan's peak against the bytes measured."""

from __future__ import annotations

from dataclasses import dataclass, field

from mini_bptt.cells.result import Result


@dataclass(frozen=True)
class MemoryReport:
    """Planned against measured memory of one run (bytes unless a name says units).

    plan_peak_units:      the plan's peak, in hidden-state units
    plan_peak_bytes:      bytes of the arrays the plan keeps saved, at that peak (``nbytes``)
    unit_bytes:           bytes of one unit: one hidden state (``h0.nbytes``)
    measured_peak_bytes:  everything the run allocated, at its peak (``tracemalloc``)
    gradient_bytes:       the parameter-gradient accumulators, held for the whole run
    """

    plan_peak_units: float
    plan_peak_bytes: int
    unit_bytes: int
    measured_peak_bytes: int
    gradient_bytes: int

    @property
    def beyond_plan_bytes(self) -> int:
        """What the run held beyond the plan's saved arrays, at the measured peak."""
        return self.measured_peak_bytes - self.plan_peak_bytes

    @property
    def step_bytes(self) -> int:
        """Beyond the plan and the gradients: the cursor, the core, the carry, one step's
        temporaries and the runner's own bookkeeping."""
        return self.beyond_plan_bytes - self.gradient_bytes

    def table(self) -> str:
        """The report as an aligned text table: planned, then measured."""
        rows = [
            ("plan peak", f"{self.plan_peak_units:g} units", self.plan_peak_bytes),
            (
                "  units x bytes per unit",
                f"x {self.unit_bytes:,}",
                round(self.plan_peak_units * self.unit_bytes),
            ),
            ("measured peak (tracemalloc)", "", self.measured_peak_bytes),
            ("beyond the plan", "", self.beyond_plan_bytes),
            ("  gradient accumulators", "", self.gradient_bytes),
            ("  cursor, core, carry, one step", "", self.step_bytes),
        ]
        lines = [f"{'':32} {'':>16} {'bytes':>12} {'MiB':>8}"]
        for name, units, nbytes in rows:
            lines.append(f"{name:32} {units:>16} {nbytes:>12,} {nbytes / 2**20:>8.3f}")
        return "\n".join(lines)


@dataclass(frozen=True)
class ExecutionResult(Result):
    """A ``Result`` of ``execute``: with ``memory``, the plan's peak against the bytes the
    run really held, when it was run with ``measure_memory=True`` (else None)."""

    memory: MemoryReport | None = field(default=None, repr=False)

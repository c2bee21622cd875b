"""What the PyTorch and JAX hooks share: a thread-safe log of one run's calls, and its trace.

``torch_hooks.CallLog`` and ``jax_hooks.CallLog`` differ in how they hear a step's forward
and backward; both append ``("forward", i)`` / ``("backward", i)`` here, from whichever
thread the framework runs its hook on (autograd may run backward nodes on worker threads,
JAX its callbacks on its own), and both rebuild the trace with ``trace_from_calls``.
"""

from __future__ import annotations

import threading
from fractions import Fraction

from mini_bptt.oracle.call_log import CallLogPlan, trace_from_calls


class LoggedCalls:
    """A log of the forward and backward calls of one run, in the order they were made."""

    def __init__(self) -> None:
        self._calls: list[tuple[str, int]] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        with self._lock:
            return f"{type(self).__name__}({len(self._calls)} calls)"

    @property
    def calls(self) -> list[tuple[str, int]]:
        """A copy of the calls logged so far, ``("forward", i)`` and ``("backward", i)`` in the
        order they ran (after waiting for any the framework has yet to deliver)."""
        self._settle()
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        """Forget the calls logged so far (before the next run)."""
        self._settle()
        with self._lock:
            self._calls.clear()

    def trace(
        self,
        steps: int,
        *,
        alpha: int | float | Fraction = 1,
        internal_has_output: bool = True,
    ) -> CallLogPlan:
        """The valid trace of least peak memory that makes the logged calls:
        ``trace_from_calls(self.calls, steps=steps, ...)``.

        Parameters
        ----------
        steps : int
            Sequence length T.
        alpha : int, float or Fraction
            Internal-state size in hidden-state units.
        internal_has_output : bool
            Whether a saved internal state can restart the forward.

        Returns
        -------
        CallLogPlan
            ``forward_count``, ``peak_memory``, ``actions``; the optimum at that memory in
            ``optimal_forward_count``.

        Raises
        ------
        PlanError
            At the first call no valid trace can make, at a call after backward 1 (a log
            holds one run), or when the log ends before every step is reversed
            (``len(calls)``); with the likely cause.
        TypeError, ValueError
            For bad arguments, or a logged step outside ``1..steps``, named.

        Examples
        --------
        >>> LoggedCalls().trace(2)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        mini_bptt.planning.replay.PlanError: the end of calls (index 0 = len(calls)): ...
        """
        return trace_from_calls(
            self.calls, steps=steps, alpha=alpha, internal_has_output=internal_has_output
        )

    def _record(self, op: str, index: int) -> None:
        with self._lock:
            self._calls.append((op, int(index)))

    def _settle(self) -> None:
        """Wait for calls the framework has made but not yet delivered (none here)."""

"""Log the calls a real PyTorch loop makes to its step function, to rebuild its trace.

A ``CallLog`` wraps the step function of a PyTorch loop (or each module of a sequence
given to ``torch.utils.checkpoint.checkpoint_sequential``). Every call of the wrapped
step, the first forward and each recomputation, appends ``("forward", i)``; the end of
its backward appends ``("backward", i)``. ``log.trace(T)`` then hands the log to
``trace_from_calls``, which rebuilds the valid trace of least peak memory that makes
exactly those calls, to check like any other (``mb.check``, ``against=plan``). torch is
imported inside the functions here, never when this module is imported: mini_bptt does
not depend on it.

Why the log is right, under each way PyTorch runs a step (torch 2.x,
``torch/utils/checkpoint.py``):

* **The step index travels with the call.** The wrapped step is called as
  ``step(i, *inputs)``. Recomputation calls the checkpointed function again with the
  arguments it was first given (reentrant mode keeps non-tensor arguments in its
  context, non-reentrant mode keeps the whole call), so a recomputed step logs its own
  index. A counter in the wrapper would number recomputations as new steps.
* **A forward is logged when the step is called**, before it runs: under non-reentrant
  checkpointing the recomputation may stop early, once every tensor the backward needs is
  back, which can be inside the segment's last step, but never before that step starts.
* **A backward is logged on the step's inputs, not on its outputs.** Inside the wrapper,
  the floating-point tensors among the inputs pass through an identity autograd node
  before the step sees them. Autograd runs that node once the gradient with respect to
  every input is complete, which is after every operation of step i has run its backward
  (a node runs when all the nodes that feed it have run, and only step i reads these
  tagged tensors): so ``("backward", i)`` comes after the backward of step i and before
  anything of step i-1. A node on the *outputs* would run when the gradient of step i's
  output arrives, before step i's backward. In a plain loop and under reentrant
  checkpointing (which recomputes the whole segment when its backward node is reached,
  before any step in it is reversed) both orders put the log's calls in the same places.
  Under non-reentrant checkpointing they do not: the segment is recomputed lazily, when
  the backward of its last step first reads a tensor the forward did not keep, after the
  gradient of that step's output arrived. Tagged on the outputs, the log would reverse
  the step before recomputing it, and the rebuilt trace would have to keep the step's
  internal state from its first forward: a stale state and a higher peak (for
  ``checkpoint_sequential`` at T = 200 in 14 segments, alpha 4.5: 136 units instead of
  89.5, with torch 2.13). Tagged on the inputs, reentrant and non-reentrant checkpointing
  give the same log.
* **Every step logs its backward, even the first.** Autograd builds a node only when one
  of its inputs requires gradients, and the initial state often does not. The identity
  node is also given an empty tensor that requires gradients, created per call, so it
  is part of the graph whenever gradients are being recorded. (Under reentrant
  checkpointing the state entering a segment must still require gradients, torch's own
  rule: otherwise torch skips the segment's backward, its parameters get no gradient,
  and the log, with no backward of those steps, is refused by ``trace_from_calls``.)

**Wrap the step inside the checkpoint, never outside.** Pass the wrapped step to
``checkpoint``: ``checkpoint(log.wrap(step), i, state, ...)``, or wrap the modules given
to ``checkpoint_sequential``. Recomputation calls the function given to ``checkpoint``
again; a wrapper *around* the checkpoint (``log.wrap(lambda h, x: checkpoint(cell, x,
h))``) is called once per step, so it logs no recomputation, and the log reads as full
BPTT: a valid trace, but of another loop.

**Each state tensor its own positional argument.** The tag sits on the positional
floating-point tensors: a tuple ``(h, c)`` passed as one argument is not a tensor (with
no other tensor, the call is refused; with ``x`` beside it, only ``x`` is tagged, and
the backward logged is that of ``x``, not of the state). Pass ``step(i, x, h, c)`` and
rebuild the tuple inside the step.

**One run per log.** ``trace`` refuses calls after backward 1 (``trace_from_calls``): an
evaluation pass through the same wrapped step after the training backward is logged
(its forwards) and would otherwise read as part of the run. Use a new log, or ``clear``
it, before the run you check; a pass *before* it cannot be told from restarts, so log only
the run you check.

What the log does not see: which state a backward read or whether it was the right one
(the gradients say that: ``mb.compare_gradients`` against ``mb.full_bptt`` for a cell
mini_bptt has; for another cell, the same loop without checkpointing), and memory the loop
holds outside the steps. The trace rebuilt from it is the least memory any implementation
making the same calls needs, not the bytes this one used.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

from mini_bptt.common import arguments
from mini_bptt.oracle.logged_calls import LoggedCalls
from mini_bptt.planning.actions import BACKWARD, FORWARD


class CallLog(LoggedCalls):
    """The forward and backward calls a PyTorch loop made to its steps, in order.

    A log starts empty and holds one run; use a new one, or ``clear`` it, for each run.
    Wrap the step inside ``checkpoint``, and pass each state tensor as its own positional
    argument (the module docstring says why).

    Raises
    ------
    TypeError, ValueError
        From ``wrap``, ``wrap_sequence`` and the wrapped steps, on bad arguments (named).

    Examples
    --------
    A checkpointed loop (not run here: mini_bptt does not depend on torch)::

        log = CallLog()
        step = log.wrap(lambda state, x: torch.tanh(state @ w + x))  # called step(i, state, x)
        state = h0
        for i in range(1, T + 1):
            state = checkpoint(step, i, state, xs[i - 1], use_reentrant=False)
        state.sum().backward()
        trace = log.trace(T)
        mb.check(trace.actions, steps=T, memory=trace.peak_memory).valid  # True

    >>> log = CallLog()
    >>> log, log.calls
    (CallLog(0 calls), [])
    """

    def wrap(self, step_fn: Callable[..., Any]) -> Callable[..., Any]:
        """A function called as ``wrapped(i, *inputs, **kwargs)`` that logs
        ``("forward", i)``, runs ``step_fn(*inputs, **kwargs)`` and logs ``("backward", i)``
        when autograd has reversed it.

        Parameters
        ----------
        step_fn : callable
            One step of the loop (a function or a ``torch.nn.Module``). Among its positional
            inputs, at least one floating-point tensor: the state it runs from, each state
            tensor its own argument (``h, c``, not a tuple ``(h, c)``).

        Returns
        -------
        callable
            ``wrapped(i, *inputs, **kwargs)``, ``i`` the step index (an int >= 1), which
            recomputation replays with the call; pass it through ``checkpoint`` as an
            argument: ``checkpoint(wrapped, i, state, use_reentrant=...)`` (the wrapped
            step inside the checkpoint, so that its recomputations are logged).

        Raises
        ------
        TypeError
            If ``step_fn`` is not callable; when called, if ``i`` is not an integer or no
            positional input is a floating-point tensor.
        ValueError
            When called with ``i < 1``.

        Examples
        --------
        >>> CallLog().wrap(len).__wrapped__ is len
        True
        >>> CallLog().wrap(3)
        Traceback (most recent call last):
        TypeError: step_fn must be callable (a step function or a torch.nn.Module), got 3
        """
        if not callable(step_fn):
            raise TypeError(
                "step_fn must be callable (a step function or a torch.nn.Module), "
                f"got {arguments.shown(step_fn)}"
            )

        def logged_step(index: int, *inputs: Any, **kwargs: Any) -> Any:
            index = arguments.count("the step index (first argument of a wrapped step)", index)
            tagged = self._tagged(index, inputs)
            self._record(FORWARD, index)
            return step_fn(*tagged, **kwargs)

        logged_step.__wrapped__ = step_fn  # type: ignore[attr-defined]
        return logged_step

    def wrap_sequence(self, functions: Iterable[Callable[..., Any]]) -> list[Callable[..., Any]]:
        """The modules or functions of a sequence, wrapped: element ``j`` logs as step
        ``j + 1`` and is called with its input alone, as ``checkpoint_sequential`` and
        ``torch.nn.Sequential`` call them.

        Parameters
        ----------
        functions : iterable of callables
            A ``torch.nn.Sequential`` or a list of modules or functions, step 1 first.

        Returns
        -------
        list of callables
            To pass to ``checkpoint_sequential(wrapped, segments, input, use_reentrant=...)``.
            The parameters stay in the original modules (give those to an optimizer).

        Raises
        ------
        TypeError
            If ``functions`` is not an iterable of callables (naming the first that is not).
        ValueError
            If it is empty.

        Examples
        --------
        >>> log = CallLog()
        >>> [(f.args, f.func.__wrapped__) for f in log.wrap_sequence([abs, round])]
        [((1,), <built-in function abs>), ((2,), <built-in function round>)]
        >>> log.wrap_sequence([abs, 2])
        Traceback (most recent call last):
        TypeError: functions[1] must be callable (a step function or a torch.nn.Module), got 2
        """
        if isinstance(functions, str | bytes) or not isinstance(functions, Iterable):
            raise TypeError(
                "functions must be a torch.nn.Sequential or a list of modules or functions, "
                f"got {arguments.shown(functions)}"
            )
        wrapped = []
        for position, function in enumerate(functions):
            if not callable(function):
                raise TypeError(
                    f"functions[{position}] must be callable (a step function or a "
                    f"torch.nn.Module), got {arguments.shown(function)}"
                )
            wrapped.append(functools.partial(self.wrap(function), position + 1))
        if not wrapped:
            raise ValueError("functions must hold at least one step, got an empty sequence")
        return wrapped

    def _tagged(self, index: int, inputs: tuple) -> list:
        """``inputs`` with each floating-point tensor passed through the backward tag of
        step ``index`` (the module docstring says why the inputs)."""
        import torch

        floating = [
            position
            for position, value in enumerate(inputs)
            if isinstance(value, torch.Tensor) and (value.is_floating_point() or value.is_complex())
        ]
        if not floating:
            raise TypeError(
                f"step {index} got no floating-point tensor among its positional inputs "
                f"({', '.join(type(v).__name__ for v in inputs) or 'none'}); the backward of "
                "a step is logged on the state it runs from, a tensor passed positionally"
            )
        tagged = list(inputs)
        if not torch.is_grad_enabled():  # no graph: nothing will be reversed
            return tagged
        anchor = torch.empty(0, requires_grad=True)  # puts the tag in the graph (see above)
        outputs = _backward_tag().apply(self, index, anchor, *(inputs[p] for p in floating))
        for position, value in zip(floating, outputs, strict=True):
            tagged[position] = value
        return tagged


@functools.cache
def _backward_tag() -> type:
    """The identity autograd function that logs ``("backward", i)`` when it is reversed;
    built on first use, so that importing this module does not import torch."""
    import torch

    class BackwardTag(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, log: CallLog, index: int, anchor: Any, *tensors: Any) -> tuple:
            ctx.log, ctx.index = log, index
            return tuple(t.view_as(t) for t in tensors)  # new tensors, no copy

        @staticmethod
        def backward(ctx: Any, *gradients: Any) -> tuple:
            ctx.log._record(BACKWARD, ctx.index)
            return (None, None, None, *gradients)

    return BackwardTag


__all__ = ["CallLog"]

"""Log the forward and backward calls of a JAX loop body, for ``trace_from_calls``.

``CallLog.wrap(body, step=...)`` returns a body for ``jax.lax.scan`` (``body(carry, x)``),
``jax.lax.fori_loop`` with static bounds (a scan), equinox's
``eqx.internal.while_loop(..., kind="checkpointed")`` (``body(carry)``), or a step called
from a Python loop, that does what ``body`` does and logs, with the step index read from
the carry (a plain ``jax.lax.while_loop`` runs and logs forwards, but JAX cannot
reverse-differentiate it):

* ``("forward", i)`` each time the body runs, from a ``jax.debug.callback`` at its top:
  the sweep, and every rerun that ``jax.checkpoint`` or a checkpointing loop makes while
  differentiating;
* ``("backward", i)`` when the cotangent of step ``i``'s input carry is computed, which is
  when step ``i``'s backward is done: the carry's floating-point leaves pass through an
  identity with a ``jax.custom_vjp`` whose backward rule issues the callback.
* **Every step logs its backward, even the first.** JAX runs that rule only if the
  identity has an input being differentiated, and the carry entering step 1 of a Python
  loop often is not (a constant ``h0``, gradients with respect to the weights only; in a
  scan the carry is differentiated at every step or at none). So the identity is also
  given, as inputs it passes no cotangent to, the values that might carry a tangent among
  the body's other arguments and among the arrays it closes over
  (``jax.closure_convert`` finds them, tracing the body once more): if the step depends
  on anything differentiated, its input is differentiated too, as torch's hook does with
  an anchor tensor. The cost is the cotangent of that input, computed and dropped.

**Wrap the body inside the checkpoint, never outside.** ``jax.checkpoint(log.wrap(body,
...))``: the rerun replays the function given to ``jax.checkpoint``, so the callbacks
inside it run again. ``log.wrap(jax.checkpoint(body), ...)`` puts the callback outside
what is rerun: no recomputation is logged and the log reads as full BPTT, a valid trace of
another loop.

**One run per log.** ``trace`` refuses calls after backward 1: an evaluation ``jit(f)``
after ``jit(grad(f))`` through the same wrapped body logs its forwards, and would
otherwise read as part of the run. Use a new log, or ``clear`` it, before the run you
check; a pass *before* it cannot be told from restarts, so log only the run you check.

``CallLog.trace(steps, alpha=...)`` turns the log into the valid trace of least peak
memory that makes those calls (``mb.trace_from_calls``), to judge with ``mb.check`` or to
compare with ``mb.cost``. jax is imported only when a body is wrapped or the log is read.

**Order.** Both callbacks are *ordered* (``ordered=True``): JAX threads one token
through every ordered effect of a computation, through ``scan`` and ``while_loop``
bodies (the token is a loop carry), ``jax.checkpoint`` reruns and ``custom_vjp``
backward rules, and across successive computations; so the callbacks run in the order of
the program JAX builds (the design note JEP 10657, *Sequencing side-effects in JAX*).
Unordered debug callbacks have no such promise: ``jax.debug.callback``'s own docstring
says they may be dropped, duplicated or reordered. That program is the transformed one:
a forward appears where the primal or its rerun runs, a backward where its input
cotangent is produced (it depends on that step's backward), so the log is the order in
which the work was done. ``calls`` waits for pending effects (``jax.effects_barrier``)
before it reads, and one lock guards the list against callback threads.
``tests/oracle/test_jax_hooks.py`` checks the order on loops whose pattern is known.

**Where the log is not the truth.**

* A forward is logged when the body is *replayed*, not in proportion to the work: under
  ``jax.checkpoint`` with a policy that saves some residuals (``dots_saveable``) the
  rerun of a step recomputes only the rest, and is logged as a whole forward; with
  ``everything_saveable`` nothing reruns and nothing is logged.
* Only what runs through the wrapped body is seen: a step computed by other code is not.
* A backward is logged only for a step that depends on something differentiated, through
  a floating-point leaf of its input carry that the differentiated output depends on
  (JAX skips the backward rule of an input it does not differentiate). ``trace`` then
  raises ``PlanError``: the log ends before every step is reversed.
* Under ``jax.vmap`` with a batched step index, each batch element logs its own call.
* The step index is whatever ``step(carry)`` says; ``trace`` refuses one out of
  ``1..steps`` naming the call.

Example (docs/jax.md runs it)::

    log = CallLog()
    body = log.wrap(rnn_step, step=lambda carry: carry[0] + 1)  # carry = (i, h)
    loss = lambda W: jax.lax.scan(jax.checkpoint(body), (0, h0), xs)[1].sum()
    jax.jit(jax.grad(loss))(W)
    log.calls[:3]                # [('forward', 1), ('forward', 2), ('forward', 3)]
    log.trace(T, alpha=2)        # a CallLogPlan: forward_count, peak_memory, ...
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

from mini_bptt.common import arguments
from mini_bptt.oracle.logged_calls import LoggedCalls
from mini_bptt.planning.actions import BACKWARD, FORWARD


class CallLog(LoggedCalls):
    """The forward and backward calls of JAX loop bodies, in the order they ran.

    Wrap a loop body with ``wrap``, inside ``jax.checkpoint`` if any; run (and
    differentiate) the loop under ``jax.jit`` or eagerly; read ``calls`` or ``trace``. One
    log may wrap several bodies, and holds one run; ``clear`` empties it between runs.
    Ordered callbacks and where the log is not the truth: see the module docstring.

    Examples
    --------
    A logged loop (docs/jax.md runs one; mini_bptt does not depend on jax)::

        log = CallLog()
        body = log.wrap(step_fn, step=lambda carry: carry[0] + 1)
        jax.jit(jax.grad(loss))(weights)       # loss runs jax.lax.scan(body, ...)
        log.calls                              # [('forward', 1), ..., ('backward', 1)]
        log.trace(T, alpha=2).forward_count

    >>> log = CallLog()
    >>> log, log.calls
    (CallLog(0 calls), [])
    """

    def __init__(self) -> None:
        super().__init__()
        self._tag: Callable[[Any, Any, Any], Any] | None = None  # made at the first wrap

    def _settle(self) -> None:
        _wait_for_callbacks()

    def wrap(self, body: Callable[..., Any], *, step: Callable[[Any], Any]) -> Callable[..., Any]:
        """A loop body that does what ``body`` does and logs its forward and backward.

        Parameters
        ----------
        body : callable
            ``body(carry, *rest)``: a ``lax.scan`` body ``(carry, x) -> (carry, y)`` or a
            loop body ``carry -> carry`` (equinox's checkpointed ``while_loop``); the
            carry is a pytree.
        step : callable
            ``step(carry)`` -> the step (1..T) that this call of the body computes, an
            integer scalar read from the carry (e.g. ``lambda c: c[0] + 1`` with a
            counter of the steps done in ``c[0]``).

        Returns
        -------
        callable
            The logged body, with ``body``'s signature, to pass to the loop; to checkpoint
            it, wrap it, ``jax.checkpoint(log.wrap(body, ...))``, never the other way round
            (the rerun must run the callbacks again).

        Raises
        ------
        TypeError
            For a ``body`` or ``step`` that is not callable, now; when the loop is
            traced, for a ``step(carry)`` that is not an integer scalar, or a carry with
            no floating-point leaf (its backward could not be logged).

        Examples
        --------
        >>> CallLog().wrap(3, step=lambda carry: carry[0] + 1)
        Traceback (most recent call last):
        TypeError: body must be callable (a loop body taking the carry first), got 3
        """
        for name, value in (("body", body), ("step", step)):
            if not callable(value):
                raise TypeError(
                    f"{name} must be callable ({_WRAP_ARGUMENTS[name]}), "
                    f"got {arguments.shown(value)}"
                )
        jax = _jax()

        @functools.wraps(body)
        def logged(carry: Any, *rest: Any) -> Any:
            index = _step_index(jax, step, carry)
            jax.debug.callback(functools.partial(self._record, FORWARD), index, ordered=True)
            anchors = _anchors(jax, body, carry, rest)
            return body(self._tagged(jax, index, carry, anchors), *rest)

        return logged

    def _tagged(self, jax: Any, index: Any, carry: Any, anchors: tuple) -> Any:
        """``carry`` with its floating-point leaves passed through the backward tag, which
        ``anchors`` put in the differentiated program (the module docstring says why)."""
        leaves, tree = jax.tree_util.tree_flatten(carry)
        floating = [k for k, leaf in enumerate(leaves) if _is_floating(jax, leaf)]
        if not floating:
            raise TypeError(
                "the carry has no floating-point array, so no cotangent reaches it and "
                f"its backward cannot be logged; got leaves {[_kind(x) for x in leaves]}"
            )
        if self._tag is None:
            self._tag = _backward_tag(jax, functools.partial(self._record, BACKWARD))
        tagged = self._tag(index, tuple(leaves[k] for k in floating), anchors)
        for k, leaf in zip(floating, tagged, strict=True):
            leaves[k] = leaf
        return jax.tree_util.tree_unflatten(tree, leaves)


_WRAP_ARGUMENTS = {
    "body": "a loop body taking the carry first",
    "step": "carry -> the step 1..T this call computes",
}


def _backward_tag(jax: Any, record: Callable[[Any], None]) -> Callable[[Any, Any, Any], Any]:
    """The identity on a tuple of arrays whose backward rule logs ``record(index)``.

    The rule runs when the cotangent of the arrays is known, i.e. after the backward of
    everything computed from them in this step; it passes the cotangent on unchanged, and
    none to the anchors (a symbolic zero, nothing added), so gradients are those of the
    untagged body."""

    @jax.custom_vjp
    def tag(index, leaves, anchors):
        return leaves

    def tag_forward(index, leaves, anchors):
        return leaves, (index, anchors)

    def tag_backward(residuals, cotangents):
        index, anchors = residuals
        jax.debug.callback(record, index, ordered=True)
        # the index is an integer: no cotangent; the anchors get none (None: a zero)
        return None, cotangents, tuple(None for _ in anchors)

    tag.defvjp(tag_forward, tag_backward)
    return tag


def _anchors(jax: Any, body: Callable[..., Any], carry: Any, rest: tuple) -> tuple:
    """The floating-point values step ``body`` reads that may carry a tangent: its arguments
    after the carry and the tracers it closes over (``jax.closure_convert`` hoists exactly
    those that may be perturbed)."""
    _, hoisted = jax.closure_convert(body, carry, *rest)
    found = [*hoisted, *jax.tree_util.tree_leaves(rest)]
    return tuple(value for value in found if _is_floating(jax, value))


def _step_index(jax: Any, step: Callable[[Any], Any], carry: Any) -> Any:
    """``step(carry)`` as an integer scalar array; refuses anything else, naming it."""
    index = step(carry)
    dtype = getattr(index, "dtype", None)
    integer = dtype is not None and jax.numpy.issubdtype(dtype, jax.numpy.integer)
    if not integer and (isinstance(index, bool) or not isinstance(index, int)):
        raise TypeError(
            "step(carry) must return an integer scalar (the step 1..T this call computes), "
            f"got {_kind(index)}"
        )
    index = jax.numpy.asarray(index)
    if index.shape != ():
        raise TypeError(
            "step(carry) must return an integer scalar (the step 1..T this call computes), "
            f"got shape {index.shape}"
        )
    return index


def _is_floating(jax: Any, leaf: Any) -> bool:
    dtype = getattr(leaf, "dtype", None)
    return dtype is not None and jax.numpy.issubdtype(dtype, jax.numpy.inexact)


def _kind(value: Any) -> str:
    dtype, shape = getattr(value, "dtype", None), getattr(value, "shape", None)
    return f"{dtype}{list(shape)}" if dtype is not None else type(value).__name__


def _jax() -> Any:
    import jax  # lazily: mini_bptt does not depend on jax

    return jax


def _wait_for_callbacks() -> None:
    """Let the callbacks of computations still running land first; without jax imported
    no body was wrapped, so none can be pending."""
    if "jax" in sys.modules:
        sys.modules["jax"].effects_barrier()


__all__ = ["CallLog"]

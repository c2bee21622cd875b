"""The DP tables shared by every call, safe under threads and interrupts.

A table set (one strategy, unit size and flag) grows across calls, so that a sweep
over budgets or lengths fills each row once. Two things could make a shared set
answer wrongly, and this module rules both out:

* **Threads.** Each set has its own lock. ``using`` holds it for the whole of one
  request (the size check, the fill and every read of the actions), so no thread ever
  reads a set another thread is growing or reallocating. Requests on different sets
  run side by side; requests on one set take turns.
* **Interrupts.** A fill marks its set not intact before its first write and intact
  after its last (``BreakpointTables.ensure``). An exception or ``KeyboardInterrupt``
  anywhere in between leaves the mark down, and a set whose mark is down is never read
  again: ``using`` drops it and builds a fresh one. So every answer after an
  interrupted call is the answer a fresh process gives.

At most ``maxsize`` sets are kept; the least recently used is dropped first (a thread
still using a dropped set keeps its own reference until it is done).
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator

from mini_bptt.planning.engine import BreakpointTables


class TableCache:
    """Table sets built by ``build(*key)``, each used by one request at a time."""

    def __init__(self, build: Callable[..., BreakpointTables], maxsize: int = 16) -> None:
        self._build = build
        self._maxsize = maxsize
        self._sets: OrderedDict[tuple[Hashable, ...], BreakpointTables] = OrderedDict()
        # guards the dict only (each set has its own lock); re-entrant, like the sets' locks,
        # because Ctrl-C landing just as a with block exits can leave a lock held: its own
        # thread must still get through
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def using(self, *key: Hashable) -> Iterator[BreakpointTables]:
        """The intact table set for ``key``, locked for this thread inside the block."""
        while True:
            tables = self._get(key)
            with tables.lock:
                if tables.intact:
                    try:
                        yield tables
                    finally:
                        if not tables.intact:  # the fill was cut short: never read it again
                            self._discard(key, tables)
                    return
            self._discard(key, tables)  # cut short in an earlier call: start afresh

    def clear(self) -> None:
        """Drop every set (the next request starts from empty tables)."""
        with self._lock:
            self._sets.clear()

    def __len__(self) -> int:
        return len(self._sets)

    def _get(self, key: tuple[Hashable, ...]) -> BreakpointTables:
        with self._lock:
            tables = self._sets.get(key)
            if tables is None:
                tables = self._sets[key] = self._build(*key)
                while len(self._sets) > self._maxsize:
                    self._sets.popitem(last=False)
            self._sets.move_to_end(key)
            return tables

    def _discard(self, key: tuple[Hashable, ...], tables: BreakpointTables) -> None:
        with self._lock:
            if self._sets.get(key) is tables:
                del self._sets[key]

"""Parallel: a pure function over many items on forked worker processes, the results in input order.

Pools compile independently, and Python runs one thread of Python at a time, so a render of many pools
uses more than one core through processes. A forked worker inherits the items (nothing is pickled on the
way in) and sends back only its results; the results come back in the order of the items whatever the
workers' speed, so the output cannot depend on how many there were.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

_work: tuple[Callable[[Any], Any], Sequence[Any]] | None = None


def available_workers() -> int:
    """The cores this process may run on, on Linux; elsewhere 1 (macOS can fork, but forking a process that
    has loaded system frameworks may crash it, and Windows cannot)."""
    if sys.platform != "linux":
        return 1
    return len(os.sched_getaffinity(0))


def ordered_map(function: Callable[[Item], Result], items: Sequence[Item], workers: int) -> list[Result]:
    """`function(item)` for every item, in order, on at most `workers` processes (1: here, no process)."""
    global _work
    workers = min(workers, len(items), available_workers())
    if workers <= 1:
        return [function(item) for item in items]
    _work = (function, items)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            return pool.map(_run, range(len(items)), chunksize=1)
    finally:
        _work = None


def _run(index: int) -> Any:
    assert _work is not None, "internal error: a worker started without work"
    function, items = _work
    return function(items[index])

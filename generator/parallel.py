"""Parallel: a pure function over many items on forked worker processes, the results in input order.

Pools compile independently, and Python runs one thread of Python at a time, so a render of many pools
uses more than one core through processes. A forked worker inherits the items (nothing is pickled on the
way in) and sends back only its results; the results come back in the order of the items whatever the
workers' speed or the order they were handed out in, so the output cannot depend on how many there were.
"""

from __future__ import annotations

import gc
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


def ordered_map(
    function: Callable[[Item], Result],
    items: Sequence[Item],
    workers: int,
    weights: Sequence[int] = (),
) -> list[Result]:
    """`function(item)` for every item, in order, on at most `workers` processes (1: here, no process).

    Items are handed out heaviest first by `weights` (one per item; ties and no weights: in order), so a
    large item does not start last and leave one worker running alone at the end.
    """
    global _work
    workers = min(workers, len(items), available_workers())
    if workers <= 1:
        return [function(item) for item in items]
    order = sorted(range(len(items)), key=lambda index: -weights[index]) if weights else range(len(items))
    results: list[Any] = [None] * len(items)
    _work = (function, items)
    # Objects the parent made before the fork go to the permanent generation: a collection in a worker
    # would otherwise write to every page it inherited (copy-on-write) only to find nothing to free.
    gc.freeze()
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            for index, result in pool.imap_unordered(_run, order, chunksize=1):
                results[index] = result
    finally:
        gc.unfreeze()
        _work = None
    return results


def _run(index: int) -> tuple[int, Any]:
    assert _work is not None, "internal error: a worker started without work"
    function, items = _work
    return index, function(items[index])

"""Run slow, independent writers side by side: some in a forked process, the rest here.

Writing a large district's outputs is mostly pure Python (openpyxl's workbook, matplotlib's
overview, folium's map), which one process runs on one core. :func:`side_by_side` runs the
``background`` jobs in one forked child process while this process runs the ``foreground``
ones, so two cores write at once. The child gets a copy of this process's memory (fork), so a
job is any callable, with no pickling of its inputs; only its result and any error come back.

Where processes cannot be forked (Windows, macOS's default), there is one core, or another
thread is running, every job runs here, in order: the same results, one after the other.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from tqdm import std as tqdm_std

# tqdm watches its bars from a thread of its own (to adjust how often they redraw); a process
# with that thread running is not forked (see can_fork), so carecircle's bars go without it.
tqdm_std.tqdm.monitor_interval = 0

_JOBS: dict[str, Callable[[], Any]] = {}
"""The background jobs, set before the child is forked (it reads its own copy)."""


def can_fork() -> bool:
    """True when a second process can share the work safely.

    That is: fork exists, there are two cores, and this process runs no other thread (a
    thread holding a lock when the process forks would leave the child stuck on it; Python
    3.12 warns of it).
    """
    return (
        "fork" in multiprocessing.get_all_start_methods()
        and (os.cpu_count() or 1) > 1
        and threading.active_count() == 1
    )


def side_by_side(
    background: Mapping[str, Callable[[], Any]],
    foreground: Mapping[str, Callable[[], Any]],
    *,
    waiting: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run ``background`` in a forked child and ``foreground`` here; return every result.

    Parameters
    ----------
    background, foreground : mapping of str to callable
        Jobs by name, each called without arguments. Background jobs must only write files
        and return picklable results (paths); they see this process's state as it was when
        the child was forked and their changes to it are lost.
    waiting : callable, optional, keyword-only
        Called once the foreground jobs are done, before the background ones are waited for
        (to say what is still being written).

    Returns
    -------
    dict
        Each job's result by name, foreground first, then background.

    Raises
    ------
    Exception
        The first error of a foreground job (after the background jobs ended), else the first
        of a background job, as it was raised in the child.

    """
    if not background or not can_fork():
        results = {name: job() for name, job in foreground.items()}
        if waiting is not None:
            waiting()
        return results | {name: job() for name, job in background.items()}
    _JOBS.clear()
    _JOBS.update(background)
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        futures = {name: pool.submit(_run, name) for name in background}
        try:
            results = {name: job() for name, job in foreground.items()}
        except BaseException:
            for future in futures.values():
                future.cancel()
            raise
        finally:
            _JOBS.clear()
        if waiting is not None:
            waiting()
        results |= {name: future.result() for name, future in futures.items()}
    return results


def _run(name: str) -> Any:
    """Run background job ``name`` in the child."""
    return _JOBS[name]()

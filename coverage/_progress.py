"""One line on standard error per long step of a run: ``读取路网… 完成（2.3 秒）``.

Steps of a second or more (:data:`MIN_SECONDS`) leave a line; shorter ones none.

The steps that hold no progress bar of their own (reading the network, joining the points to
it, writing each output) say when they end and how long they took, so no part of a run is
silent. Standard output stays for the tables. The lines speak the run's language, set once by
the command line (:func:`speaking`); a library call speaks English. On a terminal the step's
name shows while it runs and its time replaces it; elsewhere (a log file) only the finished
line is written.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_LANG: ContextVar[str] = ContextVar("carecircle_progress_lang", default="en")
_OPEN: list[bool] = [False]
"""Whether a step's name stands on the terminal without its line end (see :func:`break_line`)."""

STEPS: dict[str, tuple[str, str]] = {
    "read_layers": ("读取社区和设施", "reading the communities and facilities"),
    "read_network": ("读取路网", "reading the network"),
    "prepare": ("需求点和设施接入路网", "joining demand points and facilities to the network"),
    "circles": ("计算步行圈", "measuring the circles"),
    "standards": ("核对设施标准和配置规则", "checking standards and provision rules"),
    "areas": ("合并步行圈、求未覆盖区域", "merging circles and finding uncovered areas"),
    "sites": ("选址求解", "choosing sites"),
    "plan": ("划分各区、裁剪各区路网", "dividing the districts and clipping their networks"),
    "write": ("写出 {name}", "writing {name}"),
}
"""Each step's name, Chinese and English; ``{name}`` stands for a file's name."""

_DONE = {"zh": "完成（{seconds:.1f} 秒）", "en": "done ({seconds:.1f} s)"}

MIN_SECONDS = 1.0
"""A step shorter than this leaves no line (on a terminal its name shows while it runs and is
then wiped): the lines are for the steps a user waits on, and a refused input's one-line error
stays the only line."""


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Within the block, the step lines are in ``lang`` (``"zh"`` or ``"en"``)."""
    token = _LANG.set(lang)
    try:
        yield
    finally:
        _LANG.reset(token)


def label(key: str, **names: str) -> str:
    """The name of step ``key`` in the current language, ``names`` filled in."""
    zh, en = STEPS[key]
    return (zh if _LANG.get() == "zh" else en).format(**names)


@contextmanager
def step(key: str, *, show: bool, live: bool = True, **names: str) -> Iterator[None]:
    """Time the block; with ``show``, say on standard error that it ended and how long it took.

    Parameters
    ----------
    key : str
        The step, a key of :data:`STEPS`.
    show : bool, keyword-only
        Write the line (the callers' ``progress``).
    live : bool, keyword-only
        On a terminal, show the step's name while it runs (False for a step run beside
        another, in a second process, whose names would share the line).
    **names : str
        What the step's name leaves open (``name``: a file's name).

    Notes
    -----
    A step that fails writes nothing more: the error says what happened.

    """
    if not show:
        yield
        return
    what = label(key, **names)
    stream = sys.stderr
    terminal = _is_terminal(stream)
    if terminal and live:
        stream.write(f"{what}…")
        stream.flush()
        _OPEN[0] = True
    start = time.perf_counter()
    yield
    seconds = time.perf_counter() - start
    wipe = "\r\x1b[K" if terminal and live else ""
    if seconds < MIN_SECONDS:
        line = ""
    else:
        done = _DONE["zh" if _LANG.get() == "zh" else "en"].format(seconds=seconds)
        line = f"{what}… {done}\n"
    stream.write(wipe + line)
    stream.flush()
    _OPEN[0] = False


def break_line() -> None:
    """End a step's open line, so that a message written meanwhile starts a line of its own."""
    if _OPEN[0]:
        sys.stderr.write("\n")
        _OPEN[0] = False


class Handler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """A log handler that first ends a step's open line (:func:`break_line`)."""

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record`` on a line of its own."""
        break_line()
        super().emit(record)


def _is_terminal(stream: object) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (OSError, ValueError):
        return False

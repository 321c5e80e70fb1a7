"""Writers side by side: a forked process for some, this one for the rest."""

from __future__ import annotations

import os
import threading

import pytest

from carecircle import _parallel
from carecircle.errors import InputError


@pytest.fixture(params=[True, False], ids=["forked", "one-process"])
def forking(request, monkeypatch):
    if request.param and not _parallel.can_fork():
        running = sorted(t.name for t in threading.enumerate())
        pytest.skip(f"this process cannot fork onto a second core (threads: {running})")
    monkeypatch.setattr(_parallel, "can_fork", lambda: request.param)
    return request.param


def test_every_job_runs_and_files_written_aside_are_there(tmp_path, forking):
    def write(name: str):  # type: ignore[no-untyped-def]
        def job():  # type: ignore[no-untyped-def]
            path = tmp_path / name
            path.write_text(str(os.getpid()), encoding="utf-8")
            return path

        return job

    results = _parallel.side_by_side({"b": write("b.txt")}, {"a": write("a.txt"), "c": write("c")})
    assert set(results) == {"a", "b", "c"}
    assert all(path.exists() for path in results.values())
    pids = {name: int(path.read_text(encoding="utf-8")) for name, path in results.items()}
    assert pids["a"] == pids["c"] == os.getpid()
    assert (pids["b"] != os.getpid()) == forking  # the background job ran in another process


def test_an_error_aside_comes_back_as_raised(forking):
    def refuse():  # type: ignore[no-untyped-def]
        msg = "summary.csv: row 3, column 'population': found 'many', expected a number"
        raise InputError(msg)

    with pytest.raises(InputError, match=r"^summary.csv: row 3, column 'population'"):
        _parallel.side_by_side({"bad": refuse}, {"good": lambda: 1})


def test_an_error_here_is_raised(tmp_path, forking):
    def slow():  # type: ignore[no-untyped-def]
        (tmp_path / "aside").write_text("done", encoding="utf-8")
        return 1

    def fail():  # type: ignore[no-untyped-def]
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        _parallel.side_by_side({"slow": slow}, {"fail": fail})


def test_no_fork_while_another_thread_runs():
    if not _parallel.can_fork():
        running = sorted(t.name for t in threading.enumerate())
        pytest.skip(f"this process cannot fork onto a second core (threads: {running})")
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not _parallel.can_fork()
        results = _parallel.side_by_side({"b": os.getpid}, {"a": os.getpid})
        assert results == {"a": os.getpid(), "b": os.getpid()}  # both ran here
    finally:
        stop.set()
        other.join()
    assert _parallel.can_fork()

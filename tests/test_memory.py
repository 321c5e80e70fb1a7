"""Inputs too large for the memory stop in one line, before the work and after it fails."""

from __future__ import annotations

import subprocess
import sys
from importlib import resources

import pytest

from carecircle import _memory, cli, pipeline
from carecircle.errors import InputError

DEMO = resources.files("carecircle.data") / "demo"
GIB = 2**30


def _check(out) -> int:
    return cli.main(
        [
            "check",
            "--communities",
            str(DEMO / "communities.gpkg"),
            "--facilities",
            str(DEMO / "facilities.csv"),
            "--policy",
            "yuzhong",
            "--out",
            str(out),
        ]
    )


def test_facilities_needing_more_memory_than_is_free_stop_in_one_line(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(_memory, "available_bytes", lambda: GIB // 4)
    assert _check(tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "carecircle: error: facilities.csv: 8 facilities need about 0.5 GiB of memory; "
        "0.2 GiB is available: free some (close other programs) or run on a machine with more"
    ]
    assert not (tmp_path / "out").exists()  # stopped before any work


def test_the_estimate_grows_with_the_facilities(monkeypatch):
    monkeypatch.setattr(_memory, "available_bytes", lambda: 2 * GIB)
    _memory.require(_memory.BASE_BYTES + 100_000 * _memory.BYTES_PER_FACILITY, what="x", advice="")
    with pytest.raises(InputError, match=r"^1,000,000 facilities need about 10\.0 GiB"):
        _memory.require(
            _memory.BASE_BYTES + 1_000_000 * _memory.BYTES_PER_FACILITY,
            what="1,000,000 facilities",
            advice="",
        )
    monkeypatch.setattr(_memory, "available_bytes", lambda: None)  # not known: no stop
    _memory.require(1e15, what="x", advice="")


def test_the_least_of_the_memory_figures_counts(monkeypatch):
    monkeypatch.setattr(_memory, "_meminfo_available", lambda: 8 * GIB)
    monkeypatch.setattr(_memory, "_cgroup_available", lambda: 3 * GIB)
    monkeypatch.setattr(_memory, "_address_space_left", lambda: None)
    assert _memory.available_bytes() == 3 * GIB
    monkeypatch.setattr(_memory, "_cgroup_available", lambda: None)
    monkeypatch.setattr(_memory, "_meminfo_available", lambda: None)
    assert _memory.available_bytes() is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ulimit and /proc are Linux's")
def test_a_ulimit_counts_as_memory_not_available():
    code = (
        "import resource; from carecircle import _memory; "
        "resource.setrlimit(resource.RLIMIT_AS, (8 * 2**30, resource.RLIM_INFINITY)); "
        "print(_memory._address_space_left(), _memory.available_bytes())"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    left, available = (int(v) for v in done.stdout.split())
    assert 0 < left < 8 * GIB
    assert available <= left


def test_running_out_of_memory_is_one_line(tmp_path, monkeypatch, capsys):
    def too_large(*_args, **_kwargs):
        msg = (
            "Unable to allocate 8.49 GiB for an array with shape (20000, 57000) "
            "and data type float64"
        )
        raise MemoryError(msg)

    monkeypatch.setattr(pipeline, "check_only", too_large)
    assert _check(tmp_path / "out") == 2
    assert capsys.readouterr().err.splitlines() == [
        "carecircle: error: out of memory (Unable to allocate 8.49 GiB for an array with shape "
        "(20000, 57000) and data type float64); free some (close other programs) or run on a "
        "machine with more"
    ]

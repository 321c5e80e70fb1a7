"""A run is one run: its --out folder is checked and locked first, and filled at the end only."""

from __future__ import annotations

import errno
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from importlib import resources
from pathlib import Path

import pytest

from carecircle import cli, pipeline
from carecircle.outputs import write as write_module
from carecircle.outputs._files import RECORD, SITE_OUTPUTS, run_folder

DEMO = resources.files("carecircle.data") / "demo"
FACILITIES = str(DEMO / "facilities.csv")
CHECK = ["check", "--communities", str(DEMO / "communities.gpkg"), "--facilities", FACILITIES]


def _cost(out: Path, *more: str) -> list[str]:
    return ["cost", "--facilities", FACILITIES, "--policy", "dianjiang", "--out", str(out), *more]


def _wait_for(found: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 300
    while not found():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the run never got there"
        time.sleep(0.05)


@contextmanager
def _demo_process(out: Path) -> Iterator[subprocess.Popen[str]]:
    """``carecircle demo`` running in another process (killed if the test fails)."""
    command = [sys.executable, "-m", "carecircle.cli", "demo", "--out", str(out), "--no-progress"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_sigint_mid_write_removes_the_run_and_says_so(tmp_path):
    out = tmp_path / "out"
    with _demo_process(out) as process:
        _wait_for(lambda: any(tmp_path.glob(".out.*.part/summary.csv")), process)  # writing
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=300)
    assert process.returncode == 130
    assert "Traceback" not in err
    assert err.splitlines()[-1] == f"carecircle: interrupted; nothing was written to {out}"
    assert list(tmp_path.iterdir()) == []  # no output, no temporary folder, no lock


def test_a_second_run_is_locked_out_and_sigterm_cleans_up(tmp_path, capsys):
    out = tmp_path / "out"
    lock = tmp_path / ".out.lock"
    with _demo_process(out) as process:
        _wait_for(lambda: lock.exists() and lock.read_text().strip() != "", process)
        process.send_signal(signal.SIGSTOP)  # held mid-run, so that it cannot finish first
        assert cli.main(_cost(out)) == 2  # while the demo runs on the same folder
        assert capsys.readouterr().err.strip() == (
            f"carecircle: error: --out {str(out)!r} is being written by another run (process "
            f"{process.pid}); wait for it to finish or choose another --out folder"
        )
        process.send_signal(signal.SIGTERM)  # pending until the run goes on
        process.send_signal(signal.SIGCONT)
        _, err = process.communicate(timeout=300)
    assert process.returncode == 143
    assert err.splitlines()[-1] == f"carecircle: interrupted; nothing was written to {out}"
    assert list(tmp_path.iterdir()) == []
    assert cli.main(_cost(out)) == 0  # the lock went with the run
    assert (out / "costing.csv").exists()


@pytest.mark.parametrize("writer", ["write_district", "workbook"])
def test_an_interrupt_leaves_neither_partial_files_nor_a_half_replaced_folder(
    tmp_path, capsys, monkeypatch, writer
):
    """Interrupted while this process writes a table, or while the second process writes the
    workbook: either way the run's folder is left as it was."""
    out = tmp_path / "out"
    assert cli.main(_cost(out)) == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    assert set(before) == {"costing.csv", "costing.xlsx", RECORD}
    capsys.readouterr()

    def interrupted(*args, **kwargs):
        if writer == "write_district":
            assert any(tmp_path.glob(".*.part/summary.csv"))  # written first, by now
        raise KeyboardInterrupt

    monkeypatch.setattr(write_module, writer, interrupted)
    assert cli.main([*CHECK, "--out", str(out), "--overwrite"]) == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"carecircle: interrupted; nothing was written to {out}"
    )
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
    fresh = tmp_path / "fresh"
    assert cli.main([*CHECK, "--out", str(fresh)]) == 130
    assert not fresh.exists()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]


def test_a_full_disk_is_refused_before_the_analysis(tmp_path, capsys, monkeypatch):
    real = shutil.disk_usage

    def nearly_full(path):
        return real(path)._replace(free=12_000_000)

    monkeypatch.setattr(shutil, "disk_usage", nearly_full)
    out = tmp_path / "out"
    missing = str(tmp_path / "none.csv")  # the disk is said first: nothing was read
    assert cli.main(["cost", "--facilities", missing, "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"carecircle: error: --out {str(out)!r}: only 12 MB free on its disk; a run needs at "
        "least 50 MB"
    )
    assert list(tmp_path.iterdir()) == []


def test_a_disk_filling_up_while_writing_leaves_nothing(tmp_path, capsys, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(write_module, "workbook", full)
    out = tmp_path / "out"
    assert cli.main([*CHECK, "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"carecircle: error: --out {str(out)!r}: writing failed (No space left on device); "
        "nothing was written there"
    )
    assert list(tmp_path.iterdir()) == []


def test_an_out_that_cannot_be_written_is_refused_before_the_analysis(
    tmp_path, capsys, monkeypatch
):
    missing = str(tmp_path / "none.csv")
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine", encoding="utf-8")
    out = a_file / "out"
    assert cli.main(["cost", "--facilities", missing, "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"carecircle: error: --out {str(out)!r}: {str(a_file)!r} is a file, not a folder"
    )
    folder = tmp_path / "read-only"
    folder.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != folder)
    out = folder / "out"
    assert cli.main(["cost", "--facilities", missing, "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"carecircle: error: --out {str(out)!r}: {str(folder)!r} is not writable; choose "
        "another folder"
    )
    assert cli.main(["cost", "--facilities", missing, "--out", str(folder)]) == 2  # into it
    assert "is not writable" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt", "read-only"]


def test_an_earlier_run_is_refused_unless_overwrite_then_replaced_whole(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "说明.txt"  # the user's own file: never a run's
    mine.write_text("mine", encoding="utf-8")
    assert cli.main(_cost(out)) == 0
    capsys.readouterr()
    earlier = {path.name: path.read_bytes() for path in out.iterdir()}
    assert cli.main([*CHECK, "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"carecircle: error: --out {str(out)!r} holds an earlier run's outputs (costing.csv, "
        "costing.xlsx); pass --overwrite to replace them, or choose another --out folder"
    )
    assert {path.name: path.read_bytes() for path in out.iterdir()} == earlier
    assert cli.main([*CHECK, "--out", str(out), "--overwrite"]) == 0
    record = json.loads((out / RECORD).read_text(encoding="utf-8"))
    assert record["command"] == "check"
    assert sorted(path.name for path in out.iterdir()) == sorted(
        [*record["files"], RECORD, "说明.txt"]
    )
    assert "costing.csv" not in record["files"] and not (out / "costing.csv").exists()
    assert mine.read_text(encoding="utf-8") == "mine"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]  # no lock, no temp


def test_an_input_among_the_earlier_outputs_is_never_removed(tmp_path, capsys):
    out = tmp_path / "out"
    with run_folder(out, command="site", writes=SITE_OUTPUTS) as run:  # as `site` leaves it
        shutil.copy(FACILITIES, run.staging / "proposed_sites.csv")
    proposed = out / "proposed_sites.csv"
    before = proposed.read_bytes()
    cost = ["cost", "--facilities", str(proposed), "--out", str(out), "--overwrite"]
    assert cli.main(cost) == 2
    assert capsys.readouterr().err.strip() == (
        f"carecircle: error: --facilities {str(proposed)!r} is an earlier run's output in the "
        "--out folder, which this run would replace; choose another --out folder"
    )
    assert proposed.read_bytes() == before


def test_a_killed_runs_leftovers_do_not_block_the_next(tmp_path, capsys):
    out = tmp_path / "out"
    (tmp_path / ".out.lock").write_text("999999999\n", encoding="utf-8")  # its process is gone
    abandoned = tmp_path / ".out.0123456789ab.part"
    abandoned.mkdir()
    (abandoned / "summary.csv").write_text("half", encoding="utf-8")
    assert cli.main(_cost(out)) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == ["out"]
    assert sorted(path.name for path in out.iterdir()) == ["carecircle-run.json", *_COSTING]


_COSTING = ["costing.csv", "costing.xlsx"]


class _SameSecond(datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2026, 3, 4, 5, 6, 7)


def test_default_folders_are_new_for_each_run(
    tmp_path, capsys, monkeypatch, demo_analysis: pipeline.Analysis
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "datetime", _SameSecond)  # two quick runs: the same name
    monkeypatch.setattr(pipeline, "run", lambda *args, **kwargs: demo_analysis)
    for command, name, written in (
        (["cost", "--facilities", FACILITIES], "facilities-cost", "costing.csv"),
        (["plan-audit"], "plan-audit", "plan_audit.csv"),
        (["demo", "--no-progress"], "demo", "map.html"),
    ):
        first = Path("maps") / f"{name}-20260304-050607"
        for folder in (first, first.with_name(f"{first.name}-2")):
            assert cli.main(command) == 0
            assert (folder / written).exists()
            assert str(folder / written) in capsys.readouterr().out  # the folder is printed
    assert sorted(path.name for path in Path("maps").iterdir()) == [
        "demo-20260304-050607",
        "demo-20260304-050607-2",
        "facilities-cost-20260304-050607",
        "facilities-cost-20260304-050607-2",
        "plan-audit-20260304-050607",
        "plan-audit-20260304-050607-2",
    ]


def test_the_planners_script_is_one_run_too(tmp_path, capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location(
        "plan_sites", Path(__file__).resolve().parents[1] / "scripts" / "plan_sites.py"
    )
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = tmp_path / "plan"
    with run_folder(out, command="plan_sites", writes=SITE_OUTPUTS) as run:
        (run.staging / "plan_by_year.csv").write_text("year\n2030\n", encoding="utf-8")
    args = ["--demo", "--policy", "wanzhou", "--per-year", "1", "--out", str(out)]
    assert script.main(args) == 2  # refused before the district is read
    assert capsys.readouterr().err.strip() == (
        f"plan_sites: error: --out {str(out)!r} holds an earlier run's outputs "
        "(plan_by_year.csv); pass --overwrite to replace them, or choose another --out folder"
    )
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda path: real(path)._replace(free=0))
    assert script.main([*args[:-1], str(tmp_path / "new")]) == 2
    assert "free on its disk; a run needs at least 50 MB" in capsys.readouterr().err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["plan"]


def test_a_reader_that_leaves_early_does_not_stop_the_run(tmp_path):
    """``carecircle cost … | head`` ended in a BrokenPipeError traceback with nothing written."""
    facilities = Path(__file__).resolve().parents[1] / "data" / "demo" / "facilities.csv"
    out = tmp_path / "cost"
    command = [sys.executable, "-m", "carecircle.cli", "cost", "--facilities", str(facilities)]
    command += ["--policy", "wanzhou", "--years", "3", "--out", str(out)]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # the reader is gone before the first line
        stderr = process.stderr.read()
        assert process.wait(timeout=120) == 0, stderr
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr, stderr
    assert {path.name for path in out.iterdir()} == {
        "costing.csv",
        "costing.xlsx",
        "carecircle-run.json",
    }

"""Writing files so that a failed or interrupted run never leaves a half-written one.

:func:`atomic` writes one file under a temporary name and moves it into place when complete.
:func:`run_folder` makes a whole command one run: it checks the output folder before the
analysis (a folder, writable, with room, not holding an earlier run's outputs unless they are
to be replaced), locks it against a second run, has the run write into a temporary folder
beside it and moves the files in only when all are written, so a folder never mixes two runs
and an interrupted run leaves nothing. :func:`interruptible` turns SIGINT and SIGTERM into
:class:`Interrupted`, so that the temporary folder is removed on the way out.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import signal
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType, MappingProxyType

from .._version import __version__
from ..errors import InputError

logger = logging.getLogger(__name__)

CHECK_FILES: Mapping[str, str] = MappingProxyType(
    {
        "summary": "summary.csv",
        "townships": "townships.csv",
        "facilities": "facilities.csv",
        "district": "district.csv",
        "compounds": "compounds.csv",
        "workbook": "coverage.xlsx",
    }
)
"""What ``check`` writes into its output folder: each file's name by the label
:func:`carecircle.outputs.write_all` returns it under (``compounds.csv`` only when compounds
were given, ``--compounds``)."""

ANALYSIS_FILES: Mapping[str, str] = MappingProxyType(
    {
        **CHECK_FILES,
        "geopackage": "coverage.gpkg",
        "qgis_project": "coverage.qgz",
        "overview": "overview.png",
        "map": "map.html",
        "care_map": "care_map.csv",
    }
)
"""What ``analyze`` and ``demo`` write, by label: the check's files, and the measured circles'
GeoPackage, its QGIS project, the overview and the map; and the care map (关爱地图) when a
care table is given."""

SITING_FILES: Mapping[str, str] = MappingProxyType(
    {
        "proposed_sites": "proposed_sites.csv",
        "siting_communities": "siting_communities.csv",
        "siting_townships": "siting_townships.csv",
        "uncoverable": "uncoverable.csv",
        "candidates": "candidates.csv",
        "xlsx": "siting.xlsx",
    }
)
"""What :func:`carecircle.outputs.write_siting` writes, by the label it returns."""

SITE_FILES: Mapping[str, str] = MappingProxyType({**ANALYSIS_FILES, **SITING_FILES})
"""What ``site`` writes, by label: the analysis's files and the siting's."""

PLAN_FILES: Mapping[str, str] = MappingProxyType({**SITE_FILES, "plan_by_year": "plan_by_year.csv"})
"""What ``scripts/plan_sites.py`` writes, by label: the site's files and the phasing."""

COST_FILES: Mapping[str, str] = MappingProxyType({"csv": "costing.csv", "xlsx": "costing.xlsx"})
"""What ``cost --facilities`` (:func:`carecircle.outputs.write_costing`) writes, by label."""

PLAN_COST_FILES: Mapping[str, str] = MappingProxyType(
    {"by_year": "cost_by_year.csv", "by_year_xlsx": "cost_by_year.xlsx"}
)
"""What ``cost --plan`` (:func:`carecircle.outputs.write_plan_costing`) writes, by label."""

AUDIT_FILES: Mapping[str, str] = MappingProxyType(
    {"csv": "plan_audit.csv", "xlsx": "plan_audit.xlsx"}
)
"""What ``plan-audit`` (:func:`carecircle.outputs.write_plan_audit`) writes, by label."""

BATCH_FILES: Mapping[str, str] = MappingProxyType(
    {
        "districts_csv": "districts.csv",
        "districts_xlsx": "districts.xlsx",
        "geopackage": "municipality.gpkg",
        "map": "map.html",
    }
)
"""What ``batch`` writes beside its ``districts/`` folder (one folder per district, each as
``analyze`` writes one), by label."""

FILES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "check": CHECK_FILES,
        "analyze": ANALYSIS_FILES,
        "demo": ANALYSIS_FILES,
        "site": SITE_FILES,
        "cost": COST_FILES,
        "cost-plan": PLAN_COST_FILES,
        "plan-audit": AUDIT_FILES,
        "plan_sites": PLAN_FILES,
        "batch": BATCH_FILES,
    }
)
"""The files of each command, by label: the one list of output file names, which the writers,
the command line and :func:`run_folder`'s checks all read."""


def output_names(command: str) -> frozenset[str]:
    """The names of the files ``command`` writes into its output folder (:data:`FILES`)."""
    return frozenset(FILES[command].values())


CHECK_OUTPUTS = output_names("check")
"""The names of the files ``check`` writes (:data:`CHECK_FILES`)."""

ANALYSIS_OUTPUTS = output_names("analyze")
"""The names of the files ``analyze`` and ``demo`` write (:data:`ANALYSIS_FILES`)."""

SITE_OUTPUTS = output_names("site")
"""The names of the files ``site`` writes (:data:`SITE_FILES`)."""

PLAN_OUTPUTS = output_names("plan_sites")
"""The names of the files ``scripts/plan_sites.py`` writes (:data:`PLAN_FILES`)."""

COST_OUTPUTS = output_names("cost")
"""The names of the files ``cost --facilities`` writes (:data:`COST_FILES`)."""

PLAN_COST_OUTPUTS = output_names("cost-plan")
"""The names of the files ``cost --plan`` writes (:data:`PLAN_COST_FILES`)."""

AUDIT_OUTPUTS = output_names("plan-audit")
"""The names of the files ``plan-audit`` writes (:data:`AUDIT_FILES`)."""

BATCH_OUTPUTS = output_names("batch")
"""The names of the files ``batch`` writes beside its district folders (:data:`BATCH_FILES`)."""

RECORD = "carecircle-run.json"
"""The file naming the command, version, time and files of the run that wrote a folder."""

MIN_FREE_MB = 50.0
"""The free space, in MB, a run needs on the disk of its output folder before it starts."""


@contextmanager
def atomic(path: Path) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path``; move it into place when the block succeeds.

    The temporary name is unique (two runs writing the same folder do not collide) and is not
    created, so writers that refuse an existing file (GDAL) work. On failure it is removed and
    ``path`` keeps what it had.
    """
    tmp = path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.part{path.suffix}")
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def check_out(
    out: Path | None, inputs: Mapping[str, Path | None], *, writes: frozenset[str]
) -> None:
    """Refuse an output folder that is a file, or that would overwrite one of the inputs.

    Parameters
    ----------
    out : pathlib.Path or None
        The ``--out`` folder (None: a new folder named after the time, which cannot collide).
    inputs : mapping of str to pathlib.Path or None
        Each input file by the option that named it, e.g. ``{"--facilities": path}``.
    writes : frozenset of str, keyword-only
        The names of the files the command writes into ``out`` (e.g. :data:`SITE_OUTPUTS`).

    Raises
    ------
    InputError
        If ``out`` is an existing file, or holds an input under the name of an output.

    """
    if out is None:
        return
    if out.exists() and not out.is_dir():
        msg = f"--out {str(out)!r} is a file; expected a folder (created when missing)"
        raise InputError(msg)
    folder = out.resolve()
    for option, path in inputs.items():
        if path is None or path.name not in writes:
            continue
        if path.resolve().parent == folder:
            msg = (
                f"{option} {str(path)!r} is in the --out folder, where the results' "
                f"{path.name} would overwrite it; choose another --out folder"
            )
            raise InputError(msg)


class Interrupted(BaseException):
    """SIGINT or SIGTERM stopped the run (a ``BaseException``, like ``KeyboardInterrupt``).

    Attributes
    ----------
    signum : int
        The signal (``signal.SIGINT`` or ``signal.SIGTERM``).
    out : pathlib.Path or None
        The output folder of the run it stopped, set by :func:`run_folder` once the run's
        temporary folder is removed: nothing was written there. None when it stopped no run,
        or a run whose files were already in place.

    """

    def __init__(self, signum: int, *, out: Path | None = None) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.out = out

    @property
    def exit_status(self) -> int:
        """The shell's status for a process stopped by the signal: 130 (SIGINT), 143 (SIGTERM)."""
        return 128 + self.signum

    @classmethod
    def report(cls, exc: BaseException, program: str) -> int:
        """Print the one line for a run stopped by ``exc`` (this, or a KeyboardInterrupt)."""
        stop = exc if isinstance(exc, cls) else cls(signal.SIGINT)
        where = f"; nothing was written to {stop.out}" if stop.out is not None else ""
        print(f"{program}: interrupted{where}", file=sys.stderr)
        return stop.exit_status


class _Signals:
    """SIGINT and SIGTERM, as :func:`interruptible` handles them (main thread only)."""

    holding = False  # while files are moved into place or cleaned up: later, not now
    pending: int | None = None

    @classmethod
    def stop(cls, signum: int, frame: FrameType | None) -> None:
        if cls.holding:
            cls.pending = signum
            return
        raise Interrupted(signum)


@contextmanager
def interruptible() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM raise :class:`Interrupted`.

    Without it SIGTERM ends the process at once, leaving a run's temporary folder behind. The
    handlers are installed only in the main thread (Python allows no other) and the earlier
    ones are restored on the way out.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    earlier = {s: signal.signal(s, _Signals.stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in earlier.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


@contextmanager
def _held() -> Iterator[None]:
    """Defer SIGINT and SIGTERM until the block is done (moving files in, cleaning up)."""
    if _Signals.holding:  # nested: the outer block delivers
        yield
        return
    _Signals.holding, _Signals.pending = True, None
    try:
        yield
    finally:
        _Signals.holding = False
        pending, _Signals.pending = _Signals.pending, None
        if pending is not None:
            raise Interrupted(pending)


@dataclass
class Run:
    """One run's output folder and the temporary folder it writes into.

    Attributes
    ----------
    out : pathlib.Path
        The folder the files go to (for a default folder name, with its ``-2``, ``-3`` … when
        the name was taken).
    staging : pathlib.Path
        The temporary folder beside ``out`` the run writes into.
    committed : bool
        True once the files are in ``out``.

    """

    out: Path
    staging: Path
    committed: bool = False

    def final(self, path: Path) -> Path:
        """Where ``path``, written into :attr:`staging`, is once the run is done."""
        return self.out / Path(path).relative_to(self.staging)


@contextmanager
def run_folder(
    out: Path,
    *,
    command: str,
    writes: frozenset[str],
    inputs: Mapping[str, Path | None] | None = None,
    overwrite: bool = False,
    numbered: bool = False,
    min_free_mb: float = MIN_FREE_MB,
) -> Iterator[Run]:
    """Check, lock and stage an output folder for one run; move the files in at the end.

    On entry (before the analysis): the checks of :func:`check_out`; the folder (or its nearest
    existing parent) must be a writable folder on a disk with ``min_free_mb`` free; a lock
    beside it (``.<name>.lock``, held with ``flock``, so a run that died releases it) refuses
    a second run on the same folder; an earlier run's outputs in it (the files its
    :data:`RECORD` lists, and files under the names in ``writes``) are refused unless
    ``overwrite``. The block writes into :attr:`Run.staging`, a new folder
    ``.<name>.<random>.part`` beside ``out`` (so the final move is a rename on one disk).

    When the block succeeds, the earlier run's outputs are removed (with ``overwrite``), the
    staged files and a new :data:`RECORD` are moved into ``out`` (created then, in one rename,
    when missing), and the lock is released. When it fails or is interrupted, the staged files
    are removed and ``out`` keeps what it had; an :class:`Interrupted` (or ``KeyboardInterrupt``,
    raised as :class:`Interrupted`) leaves with :attr:`Interrupted.out` set.

    Parameters
    ----------
    out : pathlib.Path
        The output folder (``--out``).
    command : str
        The command, for the record (``"analyze"``, ``"cost"`` …).
    writes : frozenset of str
        The names of the files the command may write (e.g. :data:`SITE_OUTPUTS`).
    inputs : mapping of str to pathlib.Path or None, optional
        Each input file by the option that named it; none may be overwritten or removed.
    overwrite : bool, keyword-only
        Replace an earlier run's outputs in ``out`` instead of refusing them.
    numbered : bool, keyword-only
        ``out`` is a default name: when it exists or another run holds it, take ``out-2``,
        ``out-3`` … instead of refusing (two runs started within the same second).
    min_free_mb : float, keyword-only
        The free space the disk of ``out`` must have, MB.

    Yields
    ------
    Run
        The folder to write into (:attr:`Run.staging`) and the final one (:attr:`Run.out`).

    Raises
    ------
    InputError
        On entry, for any of the checks above (one line, naming ``--out``); when writing
        fails for want of room or permission.

    """
    given = dict(inputs or {})
    check_out(out, given, writes=writes)
    _check_writable(out, min_free_mb)
    created = [folder for folder in out.absolute().parents if not folder.exists()]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out, lock = _claim(out, numbered=numbered)
    except OSError as exc:
        msg = f"--out {str(out)!r}: cannot write beside it ({exc.strerror}); choose another folder"
        raise InputError(msg) from exc
    run = Run(out, out.parent / f".{out.name}.{uuid.uuid4().hex[:12]}.part")
    try:
        earlier = _earlier_outputs(out, writes, given, overwrite=overwrite)
        _remove_abandoned(out)
        try:
            run.staging.mkdir()
            yield run
            with _held():
                _commit(run, earlier, command=command)
        except KeyboardInterrupt as exc:
            raise Interrupted(signal.SIGINT) from exc
        except OSError as exc:
            if not _is_write_error(exc, run.staging):
                raise
            msg = f"--out {str(out)!r}: writing failed ({exc.strerror}); nothing was written there"
            raise InputError(msg) from exc
    except Interrupted as exc:
        if not run.committed:
            exc.out = out
        raise
    finally:
        with _held():
            shutil.rmtree(run.staging, ignore_errors=True)
            lock.release()
            for folder in created if not run.committed else []:  # innermost first
                with suppress(OSError):  # not empty: another run's, or the user's, by now
                    folder.rmdir()


def _check_writable(out: Path, min_free_mb: float) -> None:
    """Refuse an --out under a file, in a folder that cannot be written, or on a full disk."""
    folder = next(p for p in (out.absolute().parent, *out.absolute().parents) if p.exists())
    if not folder.is_dir():
        msg = f"--out {str(out)!r}: {str(folder)!r} is a file, not a folder"
        raise InputError(msg)
    for place in (folder, out) if out.is_dir() else (folder,):
        if not os.access(place, os.W_OK | os.X_OK):
            msg = f"--out {str(out)!r}: {str(place)!r} is not writable; choose another folder"
            raise InputError(msg)
    free_mb = shutil.disk_usage(folder).free / 1e6
    if free_mb < min_free_mb:
        msg = (
            f"--out {str(out)!r}: only {free_mb:.0f} MB free on its disk; a run needs at least "
            f"{min_free_mb:.0f} MB"
        )
        raise InputError(msg)


def _claim(out: Path, *, numbered: bool) -> tuple[Path, _Lock]:
    """Lock ``out`` (or, for a default name, the first of ``out-2``, ``out-3`` … that is free)."""
    names = [out, *(out.with_name(f"{out.name}-{n}") for n in range(2, 100))]
    for path in names if numbered else [out]:
        if numbered and path.exists():
            continue
        lock = _Lock(path.parent / f".{path.name}.lock")
        if not lock.acquire():
            if numbered:
                continue
            holder = lock.holder()
            by = f" (process {holder})" if holder else ""
            msg = (
                f"--out {str(out)!r} is being written by another run{by}; wait for it to "
                "finish or choose another --out folder"
            )
            raise InputError(msg)
        if numbered and path.exists():  # finished between the two looks
            lock.release()
            continue
        return path, lock
    msg = f"--out {str(out)!r}: 99 runs already hold this name and its numbered variants"
    raise InputError(msg)


def _earlier_outputs(
    out: Path, writes: frozenset[str], inputs: Mapping[str, Path | None], *, overwrite: bool
) -> list[str]:
    """The names of an earlier run's files in ``out``; refused unless ``overwrite``."""
    if not out.is_dir():
        return []
    names = set(writes)
    try:
        record = json.loads((out / RECORD).read_text(encoding="utf-8"))
        names |= {str(name) for name in record["files"]} | {RECORD}
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as exc:
        msg = f"{out / RECORD}: not a run record ({exc}); remove it or choose another --out folder"
        raise InputError(msg) from exc
    earlier = sorted(name for name in names if (out / name).is_file())
    folder = out.resolve()
    for option, path in inputs.items():
        if path is not None and path.name in earlier and path.resolve().parent == folder:
            msg = (
                f"{option} {str(path)!r} is an earlier run's output in the --out folder, which "
                "this run would replace; choose another --out folder"
            )
            raise InputError(msg)
    if earlier and not overwrite:
        files = [name for name in earlier if name != RECORD] or earlier
        more = f" and {len(files) - 3} more" if len(files) > 3 else ""
        shown = ", ".join(files[:3]) + more
        msg = (
            f"--out {str(out)!r} holds an earlier run's outputs ({shown}); pass --overwrite "
            "to replace them, or choose another --out folder"
        )
        raise InputError(msg)
    return earlier


def _remove_abandoned(out: Path) -> None:
    """Remove temporary folders of runs on ``out`` that were killed (the lock says none runs)."""
    pattern = re.compile(rf"\.{re.escape(out.name)}\.[0-9a-f]{{12}}\.part")
    for path in out.parent.iterdir():
        if pattern.fullmatch(path.name) and path.is_dir():
            logger.debug("removing %s, left by a run that was killed", path)
            shutil.rmtree(path, ignore_errors=True)


def _commit(run: Run, earlier: list[str], *, command: str) -> None:
    """Move the staged files into ``run.out``, replacing the earlier run's, and record them."""
    files = sorted(path.name for path in run.staging.iterdir())
    record = {
        "command": command,
        "carecircle": __version__,
        "finished": datetime.now().astimezone().isoformat(timespec="seconds"),
        "files": files,
    }
    text = json.dumps(record, ensure_ascii=False, indent=2) + "\n"
    (run.staging / RECORD).write_text(text, encoding="utf-8")
    if not run.out.exists():
        run.staging.rename(run.out)  # the whole folder at once
    else:
        if earlier:
            logger.info("replaced the earlier run's outputs in %s", run.out)
        for name in earlier:
            (run.out / name).unlink(missing_ok=True)
        for name in [*files, RECORD]:  # the record last: it vouches for the files
            (run.staging / name).replace(run.out / name)
    run.committed = True


def _is_write_error(exc: OSError, staging: Path) -> bool:
    """Whether ``exc`` came from writing the run's files (not from reading an input)."""
    if exc.filename is None:  # a full disk under a file object: no name given
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return str(exc.filename).startswith(str(staging))


class _Lock:
    """An exclusive lock on a file, released by the system if its process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        """Take the lock now; False when another process holds it."""
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            if not _try_lock(fd):
                os.close(fd)
                return False
            try:  # a run that just finished may have removed the file: lock the one there
                same = self.path.stat().st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def holder(self) -> str:
        """The process id written by the lock's holder ('' when unknown)."""
        try:
            return self.path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError):
            return ""

    def release(self) -> None:
        """Remove the lock file and release the lock."""
        if self._fd is None:
            return
        with suppress(OSError):  # Windows refuses while another process has it open
            self.path.unlink(missing_ok=True)  # before closing: no one else holds it yet
        os.close(self._fd)
        self._fd = None


if sys.platform == "win32":  # pragma: no cover - tested on Linux and macOS
    import msvcrt

    def _try_lock(fd: int) -> bool:
        os.lseek(fd, 1 << 20, os.SEEK_SET)  # a byte beyond the pid, which stays readable
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        finally:
            os.lseek(fd, 0, os.SEEK_SET)
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

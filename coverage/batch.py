"""A whole municipality in one run: every district one task, on Dask (``carecircle batch``).

The OpenStreetMap file is read once (:func:`carecircle.inputs.roads.read_network`, cached by
content). Each district's network is the whole network clipped to the district widened by
:func:`buffer_m`, as far as its longest circle can reach, so a facility across the district line
counts; the clips are saved once in the cache folder, named by the content they come from, and
each task loads its own. A task (:func:`run_district`) runs :func:`carecircle.pipeline.analyze`
on its district and writes the district's usual folder (:func:`carecircle.outputs.write_all`
and the map) under ``districts/``, each folder in one rename. A task that fails reports its
error in one line; the others go on. A district whose inputs and options are unchanged since
the folder was written (its :func:`district_key` in the folder's record) is skipped, so an
interrupted batch resumes where it stopped.

Compounds and a care table (:func:`plan`'s ``compounds``, ``care``) are read once for the
whole area; each task carries its district's part (:func:`compound_districts`,
:func:`district_care`). The care records' homes travel with the tasks in memory only: a
district's key holds their digest (:func:`care_digest`), no file holds them.

:func:`compute` runs the tasks on a Dask cluster (a local one, one single-threaded worker
process per core, or an existing one by its scheduler's address); :func:`write_municipal`
writes the municipality's files from the district folders: ``districts.csv`` and
``districts.xlsx`` (each district's headline figures and rank), ``municipality.gpkg`` and
``map.html`` (the districts coloured by share, each linking to its own map).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import multiprocessing
import os
import re
import resource
import shutil
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import compounds as compounds_mod
from . import coords, network, pipeline, policy, terrain
from ._version import __version__
from .errors import InputError
from .inputs import readers
from .inputs.care import CareTable, Homes
from .network import WalkNetwork
from .outputs import headline as headline_mod
from .outputs import maps
from .outputs._files import ANALYSIS_FILES, RECORD, atomic
from .outputs.municipal import COMPUTED, DISTRICTS_DIR, FAILED, SKIPPED
from .outputs.municipal import write_municipal as write_municipal
from .outputs.write import write_all
from .settings import cache_dir

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 30
"""How long to try to reach a ``--scheduler`` before giving up, seconds."""


# --- one district: its network, its key, its task ----------------------------------------------


def buffer_m(profile: policy.Policy, *, speed_m_s: float | None = None) -> float:
    """How far beyond a district its residents' circles can reach, in metres.

    The longest circle's minutes (or the 医养结合 walk, when longer) at the walking speed,
    plus the profile's ``max_access_m``: a resident's walk starts within that distance of the
    network, and a facility joins it within that distance.
    """
    speed = speed_m_s if speed_m_s is not None else profile.speed_m_s
    minutes = max([c.max_minutes for c in profile.circles] or [0.0])
    if profile.medical_integration is not None:
        minutes = max(minutes, float(profile.medical_integration.max_walk_minutes))
    return float(minutes * 60.0 * speed + profile.max_access_m)


def clip(net: WalkNetwork, area: shapely.Geometry, *, buffer_m: float) -> WalkNetwork:
    """The part of ``net`` within ``buffer_m`` of ``area``: every edge with an end there.

    Parameters
    ----------
    net : WalkNetwork
        The whole network.
    area : shapely.Geometry
        The district, in ``net.crs``.
    buffer_m : float, keyword-only
        How far beyond the district, metres.

    Returns
    -------
    WalkNetwork
        Edges with at least one end within the widened district, and their ends.

    """
    zone = shapely.buffer(area, buffer_m)
    x0, y0, x1, y1 = shapely.bounds(zone)
    near = np.flatnonzero((net.x >= x0) & (net.x <= x1) & (net.y >= y0) & (net.y <= y1))
    shapely.prepare(zone)
    inside = np.zeros(net.n_nodes, dtype=bool)
    inside[near[shapely.contains_xy(zone, net.x[near], net.y[near])]] = True
    keep_edge = inside[net.u] | inside[net.v]
    keep_node = np.zeros(net.n_nodes, dtype=bool)
    keep_node[net.u[keep_edge]] = True
    keep_node[net.v[keep_edge]] = True
    return net.edges_subset(keep_node, keep_edge)


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a layer's columns, values and geometries (its content, not its file)."""
    digest = hashlib.sha256()
    geometry = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    table = pd.DataFrame(frame.drop(columns=[geometry] if geometry else []))
    digest.update(json.dumps([str(c) for c in table.columns], ensure_ascii=False).encode())
    digest.update(pd.util.hash_pandas_object(table.astype(str), index=False).to_numpy().tobytes())
    if geometry:
        digest.update(str(frame.crs).encode())
        for wkb in shapely.to_wkb(frame.geometry.to_numpy()):
            digest.update(b"" if wkb is None else wkb)
    return digest.hexdigest()


def file_digest(path: str | os.PathLike[str] | None) -> str:
    """SHA-256 of a file's bytes; ``""`` for no file."""
    if path is None:
        return ""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def care_digest(care: CareTable | None) -> str:
    """SHA-256 of a care table's counts and, for records, its homes; ``""`` for none.

    Only this digest of the homes enters a district's key and record, never the homes.
    """
    if care is None:
        return ""
    digest = hashlib.sha256(f"{care.form}:{care.people_basis}".encode())
    digest.update(frame_digest(care.counts).encode())
    if care.homes is not None:
        for values in (care.homes.lon, care.homes.lat, care.homes.community, care.homes.flags):
            digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()


def district_care(care: CareTable, positions: np.ndarray) -> CareTable:
    """The care table of the communities at ``positions`` (rows of the layer it was read against).

    Their counts, in that order, and the homes in them renumbered to it. The records outside
    every community are in no district's table (the batch counts them in ``districts.csv``).
    """
    counts = care.counts.iloc[positions].reset_index(drop=True)
    homes = None
    if care.homes is not None:
        renumber = np.full(len(care.counts), -1, dtype=np.int64)
        renumber[positions] = np.arange(len(positions))
        at = renumber[care.homes.community]
        keep = at >= 0
        homes = Homes(
            lon=care.homes.lon[keep],
            lat=care.homes.lat[keep],
            community=at[keep],
            flags=care.homes.flags[keep],
        )
    return CareTable(
        counts, form=care.form, people_basis=care.people_basis, source=care.source, homes=homes
    )


def compound_districts(
    compounds: gpd.GeoDataFrame, communities: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Each compound's district, and whether it was placed by nearness.

    A compound is in the district of the community it lies in (its point's, or its polygon's
    largest overlap, as :func:`carecircle.compounds.check_compounds` finds it); one in no
    community goes to the district of the nearest community. ``communities`` carry their
    ``district`` (``""``: in none, never chosen).
    """
    placed = communities.loc[communities["district"] != ""]
    polygons = placed.geometry.to_numpy()
    names = np.full(len(compounds), "", dtype=object)
    near = np.zeros(len(compounds), dtype=bool)
    if not len(polygons) or not len(compounds):
        return names, near
    geoms = compounds.to_crs(communities.crs).geometry.to_numpy()
    is_point = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
    where = compounds_mod._community_of(geoms, is_point, polygons)
    near = where < 0
    if near.any():
        where[near] = shapely.STRtree(polygons).nearest(geoms[near])
    names[:] = placed["district"].to_numpy()[where]
    return names, near


def policy_digest(profile: policy.Policy) -> str:
    """SHA-256 of a loaded profile: every value, those it extends included."""
    return hashlib.sha256(repr(profile).encode()).hexdigest()


def district_key(parts: Mapping[str, Any]) -> str:
    """The key of a district's run: SHA-256 of its inputs' digests, options and the version."""
    text = json.dumps({**parts, "carecircle": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def folder_name(district: str) -> str:
    """A district's folder: its name in letters and digits, with a short hash that keeps it apart.

    The same name always gets the same folder, so a rerun finds it.
    """
    slug = re.sub(r"[^\w-]+", "_", district, flags=re.UNICODE).strip("_")[:40] or "district"
    return f"{slug}-{hashlib.sha256(district.encode()).hexdigest()[:6]}"


@dataclass(frozen=True)
class DistrictTask:
    """Everything a worker needs to analyse one district and write its folder.

    The layers travel with the task; the network is a file (its clip, saved by
    :func:`plan`) that the worker loads, so the cache folder and ``--out`` must be on a disk
    every worker sees.
    """

    district: str
    folder: str
    key: str
    network_file: str
    communities: gpd.GeoDataFrame
    facilities: gpd.GeoDataFrame
    policy: str
    out: str
    population: str | None = None
    dem: str | None = None
    speed_m_s: float | None = None
    lang: str = "zh"
    crs: str | None = None
    shapefile_safe: bool = False
    basemap: str = "none"
    tianditu_key: str | None = None
    embed_key: bool = False
    files: Mapping[str, str] = field(default_factory=dict)
    compounds: gpd.GeoDataFrame | None = None
    new_from_year: int | None = None
    compounds_by_nearness: int = 0
    care: CareTable | None = field(default=None, repr=False)
    care_min_count: int | None = None


@dataclass(frozen=True)
class DistrictResult:
    """What became of one district.

    Attributes
    ----------
    district, folder, key : str
        Its name, its folder under ``districts/`` and its run's key.
    run : str
        :data:`COMPUTED`, :data:`SKIPPED` (unchanged since its folder was written) or
        :data:`FAILED`.
    error : str
        The one-line error of a failed district.
    figures : dict
        The headline (:func:`carecircle.outputs.headline.headline`) as plain values.
    seconds : float
        The task's time on its worker.
    peak_mb : float
        The worker's peak memory when the task ended (its resident set, MB).
    worker : str
        The worker that ran it (``host:process id``).

    """

    district: str
    folder: str
    key: str
    run: str
    error: str = ""
    figures: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    peak_mb: float = 0.0
    worker: str = ""


def one_line(exc: BaseException) -> str:
    """An error in one line: its message, or its kind and message for an unexpected one."""
    text = " ".join(str(exc).split())
    if isinstance(exc, InputError | MemoryError):
        return text or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _peak_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak / 1e3


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@contextmanager
def _said_as(district: str) -> Iterator[None]:
    """In a worker process, say the run's warnings on standard error with the district's name.

    The command's own process (a local cluster of threads) has its handler already, which says
    them without it.
    """
    said = logging.getLogger("carecircle")
    if said.handlers or multiprocessing.parent_process() is None:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    name = district.replace("%", "%%")
    handler.setFormatter(logging.Formatter(f"carecircle: {name}: %(message)s"))
    said.addHandler(handler)
    propagate, said.propagate = said.propagate, False
    try:
        yield
    finally:
        said.removeHandler(handler)
        said.propagate = propagate


def run_district(task: DistrictTask) -> DistrictResult:
    """Analyse one district and write its folder; never raises (a failure is its result).

    This is the function a Dask worker runs. The analysis is :func:`carecircle.pipeline.analyze`
    on the district's clipped network, communities and the facilities within reach; the
    folder is written as ``analyze`` writes one, into a temporary folder renamed into place.
    """
    start = time.perf_counter()
    try:
        with _said_as(task.district):
            profile = policy.load(task.policy)
            if task.dem is not None:
                terrain.check_dem(task.dem)
            net = network.load(task.network_file)
            pipeline.check_near(net, task.communities, label="communities")
            analysis = pipeline.analyze(
                net,
                task.communities,
                task.facilities,
                policy=profile,
                population_raster=task.population,
                dem=task.dem,
                speed_m_s=task.speed_m_s,
                compounds=task.compounds,
                new_from_year=task.new_from_year,
                care=task.care,
                care_min_count=task.care_min_count,
            )
            parameters = {**analysis.parameters, **task.files, "title": task.district}
            analysis = dataclasses.replace(analysis, prepared=None, parameters=parameters)
            figures = headline_figures(analysis)
            if task.compounds is not None:
                figures["compounds"] = len(task.compounds)
                figures["compounds_by_nearness"] = task.compounds_by_nearness
            write_district(analysis, task, figures)
    except Exception as exc:  # a district's failure is reported, never the batch's
        logger.debug("district %s failed", task.district, exc_info=True)
        return DistrictResult(
            task.district,
            task.folder,
            task.key,
            run=FAILED,
            error=one_line(exc),
            seconds=time.perf_counter() - start,
            peak_mb=_peak_mb(),
            worker=_worker(),
        )
    return DistrictResult(
        task.district,
        task.folder,
        task.key,
        run=COMPUTED,
        figures=figures,
        seconds=time.perf_counter() - start,
        peak_mb=_peak_mb(),
        worker=_worker(),
    )


def headline_figures(analysis: pipeline.Analysis) -> dict[str, Any]:
    """The headline of an analysis as plain values, for the record and ``districts.csv``."""
    head = headline_mod.headline(analysis)
    figures: dict[str, Any] = {
        "policy": head.policy,
        "communities": head.communities,
        "facilities": head.facilities,
        "below_standard": head.below_standard,
        "circles": [dataclasses.asdict(c) for c in head.circles],
    }
    return json.loads(json.dumps(figures, default=float))  # NaN kept, numpy types gone


def write_district(analysis: pipeline.Analysis, task: DistrictTask, figures: Any) -> Path:
    """Write the district's folder as ``analyze`` does, then rename it into place.

    The folder's record (:data:`carecircle.outputs._files.RECORD`) holds the command
    ``batch``, the district, its key and its headline figures; a rerun reads them there.
    """
    final = Path(task.out)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".{final.name}.{uuid.uuid4().hex[:12]}.part"
    try:

        def write_map(path: Path) -> Path:
            fmap = maps.build(
                analysis,
                lang=task.lang,  # type: ignore[arg-type]
                basemap=task.basemap,  # type: ignore[arg-type]
                tianditu_key=task.tianditu_key,
                embed_key=task.embed_key,
            )
            with atomic(path) as tmp:
                fmap.save(str(tmp))
            return path

        also = {"map": (ANALYSIS_FILES["map"], write_map)} if analysis.circles_measured else {}
        write_all(
            analysis,
            staging,
            lang=task.lang,  # type: ignore[arg-type]
            also=also,
            crs=task.crs,
            shapefile_safe=task.shapefile_safe,
        )
        record = {
            "command": "batch",
            "carecircle": __version__,
            "finished": datetime.now().astimezone().isoformat(timespec="seconds"),
            "files": sorted(path.name for path in staging.iterdir()),
            "district": task.district,
            "key": task.key,
            "figures": figures,
        }
        (staging / RECORD).write_text(
            json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        old = final.parent / f".{final.name}.{uuid.uuid4().hex[:12]}.old"
        if final.exists():
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def done_before(folder: Path, key: str) -> dict[str, Any] | None:
    """The record of a district folder written with ``key``, its files all there; else None."""
    try:
        record = json.loads((folder / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("key") != key:
        return None
    if not all((folder / str(name)).is_file() for name in record.get("files", [])):
        return None
    return record


# --- the plan: districts, their layers and networks -------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The batch's districts before they run.

    Attributes
    ----------
    tasks : list of DistrictTask
        The districts to compute.
    done : list of DistrictResult
        Districts skipped (unchanged) and districts that failed before they could run (a
        profile that does not load, communities in no district).
    areas : geopandas.GeoDataFrame
        Each district's area (``district``, ``folder``, geometry; the network's CRS).

    """

    tasks: list[DistrictTask]
    done: list[DistrictResult]
    areas: gpd.GeoDataFrame


def assign_districts(
    communities: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    districts: gpd.GeoDataFrame | None = None,
    column: str = "district",
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The layers with their ``district`` column: from ``column``, or from the districts' polygons.

    With ``districts`` (polygons with a ``column`` of names), a community is in the district
    that holds its inner point, a facility in the one that holds it; one in none gets ``""``.
    Without, the communities must have ``column``; facilities keep theirs when they have one.

    Raises
    ------
    InputError
        When the communities have no ``column`` and no districts layer is given, or the
        districts layer has none.

    """
    comm, fac = communities.copy(), facilities.copy()
    if districts is None:
        if column not in comm:
            source = comm.attrs.get("source") or "the communities"
            msg = (
                f"{source}: no district column {column!r}; give the communities one "
                "(--district-column) or a districts polygon layer (--districts)"
            )
            raise InputError(msg)
        comm["district"] = _names(comm[column])
        fac["district"] = _names(fac[column]) if column in fac else ""
        return comm, fac
    if column not in districts:
        source = districts.attrs.get("source") or "the districts layer"
        msg = f"{source}: no column {column!r} naming the districts (--district-column)"
        raise InputError(msg)
    polygons = districts.to_crs(comm.crs)
    names = _names(polygons[column]).to_numpy()
    tree = shapely.STRtree(polygons.geometry.to_numpy())
    for layer, spots in (
        (comm, shapely.point_on_surface(comm.geometry.to_numpy())),
        (fac, fac.to_crs(comm.crs).geometry.to_numpy()),
    ):
        which, polygon = tree.query(spots, predicate="within")
        found = np.full(len(layer), "", dtype=object)
        order = np.lexsort((-polygon, which))  # the first polygon wins (written last)
        found[which[order]] = names[polygon[order]]
        layer["district"] = found
    return comm, fac


def _names(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), "").astype(str).str.strip()


def plan(
    net: WalkNetwork,
    communities: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    out: Path,
    *,
    network_key: str,
    policies: Mapping[str, str] | None = None,
    default_policy: str = "chongqing",
    districts: gpd.GeoDataFrame | None = None,
    district_column: str = "district",
    population: Path | None = None,
    dem: Path | None = None,
    speed_m_s: float | None = None,
    options: Mapping[str, Any] | None = None,
    recompute: bool = False,
    compounds: gpd.GeoDataFrame | None = None,
    new_from_year: int | None = None,
    care: CareTable | None = None,
    care_min_count: int | None = None,
) -> Plan:
    """Split the municipality into district tasks; clip and save each district's network.

    Parameters
    ----------
    net : WalkNetwork
        The whole walking network.
    communities, facilities : geopandas.GeoDataFrame
        The whole area's layers (as the readers return them).
    out : pathlib.Path
        The batch's output folder; districts go under ``out / "districts"``.
    network_key : str, keyword-only
        The network's content key (its cache name), part of each clip's name and task's key.
    policies : mapping, optional, keyword-only
        District name -> profile (built-in name or ``.toml`` file).
    default_policy : str, keyword-only
        The profile of the districts ``policies`` does not name.
    districts : geopandas.GeoDataFrame, optional, keyword-only
        District polygons with ``district_column``; without, the communities' column says.
    district_column : str, keyword-only
        The column naming the districts (see :func:`assign_districts`).
    population, dem, speed_m_s : keyword-only
        As for :func:`carecircle.pipeline.analyze`.
    options : mapping, optional, keyword-only
        The writers' options (``lang``, ``crs``, ``shapefile_safe``, ``basemap``, ...), passed
        to every task and part of its key.
    recompute : bool, keyword-only
        Compute every district, even one unchanged since its folder was written.
    compounds : geopandas.GeoDataFrame, optional, keyword-only
        The whole area's compounds (:func:`carecircle.inputs.read_compounds`); each district
        gets those :func:`compound_districts` places in it.
    new_from_year : int, optional, keyword-only
        As for :func:`carecircle.pipeline.analyze`.
    care : CareTable, optional, keyword-only
        The care table read against ``communities`` (all of them); each district gets its
        communities' part (:func:`district_care`), and its digest in the district's key.
    care_min_count : int, optional, keyword-only
        As for :func:`carecircle.pipeline.analyze`; also the smallest count of the records
        outside every community that ``districts.csv`` says.

    Returns
    -------
    Plan

    """
    options = dict(options or {})
    comm, fac = assign_districts(
        communities, facilities, districts=districts, column=district_column
    )
    comm = comm.to_crs(net.crs)
    fac = fac.to_crs(net.crs)
    digests = {"population": file_digest(population), "dem": file_digest(dem)}
    profiles: dict[str, policy.Policy | Exception] = {}
    clips = cache_dir() / "batch"
    tasks: list[DistrictTask] = []
    done: list[DistrictResult] = []
    rows: list[dict[str, Any]] = []
    names = sorted(set(comm["district"]) - {""})
    if districts is not None:
        names = sorted(set(names) | set(_names(districts[district_column])) - {""})
    orphans = int((comm["district"] == "").sum())
    if orphans:
        done.append(
            DistrictResult(
                district="",
                folder="",
                key="",
                run=FAILED,
                error=f"{orphans} communities lie in no district (blank {district_column!r}, "
                "or outside every district polygon); not analysed",
            )
        )
    if care is not None:
        pipeline._check_care(care, communities)
        done.extend(_care_outside(care, default_policy, care_min_count))
    placed = nearness = None
    if compounds is not None:
        placed, nearness = compound_districts(compounds, comm)
        lost = int((placed == "").sum())
        if lost:
            msg = f"{lost} compounds lie in no district (no community has one); not analysed"
            done.append(DistrictResult("", "", "", FAILED, error=msg))
    _remove_abandoned(out / DISTRICTS_DIR)
    fac_tree = shapely.STRtree(fac.geometry.to_numpy())
    areas = (
        dict(
            zip(_names(districts[district_column]), districts.to_crs(net.crs).geometry, strict=True)
        )
        if districts is not None
        else {}
    )
    for name in names:
        folder = folder_name(name)
        members = comm.loc[comm["district"] == name]
        shapes = members.geometry[~members.geometry.is_empty & members.geometry.notna()]
        area = areas.get(name)
        if area is None:
            area = shapely.union_all(shapes.to_numpy())
        rows.append({"district": name, "folder": folder, "geometry": area})
        source = (policies or {}).get(name, default_policy)
        if source not in profiles:
            try:
                profiles[source] = policy.load(source)
            except Exception as exc:  # the districts under this profile fail, the rest run
                profiles[source] = exc
        profile = profiles[source]
        if isinstance(profile, Exception):
            done.append(DistrictResult(name, folder, "", FAILED, error=one_line(profile)))
            continue
        if members.empty:
            msg = f"no community in district {name!r}"
            done.append(DistrictResult(name, folder, "", FAILED, error=msg))
            continue
        reach = buffer_m(profile, speed_m_s=speed_m_s)
        near = np.sort(fac_tree.query(shapely.buffer(area, reach), predicate="intersects"))
        chosen = fac.iloc[near].to_crs(communities.crs)
        layers = members.drop(columns="district").to_crs(communities.crs)
        if district_column in layers and district_column != "district":
            layers = layers.drop(columns=district_column)
        layers["district"] = name
        extra: dict[str, Any] = {}
        keys: dict[str, Any] = {}
        if compounds is not None and placed is not None and nearness is not None:
            mine = placed == name
            own = compounds.iloc[np.flatnonzero(mine)].reset_index(drop=True)
            own.attrs = dict(compounds.attrs)
            extra |= {
                "compounds": own,
                "new_from_year": new_from_year,
                "compounds_by_nearness": int(nearness[mine].sum()),
            }
            keys |= {"compounds": frame_digest(own), "new_from_year": new_from_year}
        if care is not None:
            part = district_care(care, np.flatnonzero(comm["district"].to_numpy() == name))
            extra |= {"care": part, "care_min_count": care_min_count}
            keys |= {"care": care_digest(part), "care_min_count": care_min_count}
        zone = shapely.to_wkb(area, hex=True)
        clip_key = hashlib.sha256(
            f"{network_key}:{zone}:{reach + profile.max_access_m}".encode()
        ).hexdigest()[:20]
        key = district_key(
            {
                "network": network_key,
                "clip": clip_key,
                "communities": frame_digest(layers),
                "facilities": frame_digest(chosen),
                "policy": policy_digest(profile),
                "speed_m_s": speed_m_s,
                **digests,
                **keys,
                **{k: v for k, v in options.items() if k != "tianditu_key"},
            }
        )
        target = out / DISTRICTS_DIR / folder
        record = None if recompute else done_before(target, key)
        if record is not None:
            done.append(
                DistrictResult(name, folder, key, SKIPPED, figures=record.get("figures", {}))
            )
            continue
        network_file = clips / f"clip-{clip_key}-v{network.CACHE_VERSION}.npz"
        if network.from_cache(network_file) is None:
            # the widened district, and the access distance again: a facility within reach
            # joins the same way it would on the whole network
            network.to_cache(clip(net, area, buffer_m=reach + profile.max_access_m), network_file)
            if not network_file.is_file():
                msg = f"{network_file}: could not keep the district's network (see the warning)"
                raise InputError(msg)
        tasks.append(
            DistrictTask(
                district=name,
                folder=folder,
                key=key,
                network_file=str(network_file),
                communities=layers,
                facilities=chosen,
                policy=source,
                out=str(target),
                population=str(population) if population else None,
                dem=str(dem) if dem else None,
                speed_m_s=speed_m_s,
                **options,
                **extra,
            )
        )
    frame = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["district", "folder", "geometry"]),
        geometry="geometry",
        crs=net.crs,
    )
    return Plan(tasks, done, frame)


def _care_outside(
    care: CareTable, default_policy: str, care_min_count: int | None
) -> list[DistrictResult]:
    """The row of ``districts.csv`` counting the care records in no community (none: no row).

    They are in no district's care map. A count below the smallest shown is not given.
    """
    count = int(care.outside.get("people", 0))
    if not count:
        return []
    try:
        floor = pipeline._care_min_count(policy.load(default_policy), care_min_count)
    except Exception:  # the default profile's error is its districts' row
        floor = None
    said = "some"
    if floor is not None:
        said = str(count) if count >= floor else f"fewer than {floor}"
    msg = f"{care.source}: {said} care records lie in no community; in no district's care map"
    return [DistrictResult("", "", "", FAILED, error=msg)]


def _remove_abandoned(folder: Path) -> None:
    """Remove the temporary folders of district runs that were killed (``.<name>.<hex>.part``).

    The batch's ``--out`` is locked for this run, so no other run is writing them.
    """
    if not folder.is_dir():
        return
    pattern = re.compile(r"\..+\.[0-9a-f]{12}\.(part|old)")
    for path in folder.iterdir():
        if pattern.fullmatch(path.name) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def read_districts(path: Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """A districts polygon layer (``--districts``), its CRS checked and names stripped."""
    frame, name = readers.open_layer(Path(path), layer, role="districts")
    coords.check_crs(frame.crs, what=f"{path}: layer {name!r}")
    if len(frame) == 0:
        msg = f"{path}: layer {name!r} has no features; expected the district polygons"
        raise InputError(msg)
    frame = readers.tidy_layer(frame, path=Path(path))
    frame.attrs["source"] = str(path)
    return frame


def read_policies(path: Path) -> dict[str, str]:
    """A manifest of district -> profile: a CSV or workbook with ``district`` and ``policy``.

    A relative ``.toml`` path is taken from the manifest's folder.
    """
    try:
        table = (
            pd.read_excel(path, dtype=str)
            if path.suffix.lower() in (".xlsx", ".xls")
            else pd.read_csv(path, dtype=str, encoding="utf-8-sig")
        )
    except (OSError, ValueError) as exc:
        msg = f"{path}: cannot read the policy manifest ({' '.join(str(exc).split())})"
        raise InputError(msg) from exc
    missing = [c for c in ("district", "policy") if c not in table]
    if missing:
        msg = (
            f"{path}: missing column {missing[0]!r}; expected a table with columns "
            "'district' and 'policy' (a built-in profile name or a .toml file)"
        )
        raise InputError(msg)
    result = {}
    for row, (district, source) in enumerate(
        zip(_names(table["district"]), _names(table["policy"]), strict=True), start=2
    ):
        if not district or not source:
            msg = f"{path}: row {row}: blank district or policy; expected both"
            raise InputError(msg)
        if source.lower().endswith(".toml") and not Path(source).is_absolute():
            source = str(path.parent / source)
        result[district] = source
    return result


def progress_line(result: DistrictResult, lang: str = "en") -> str:
    """A district's end in one line: ``西区：完成（4.2 秒）`` or ``西区: failed: ...``."""
    name = result.district or ("（无所属区）" if lang == "zh" else "(no district)")
    if lang == "zh":
        if result.run == FAILED:
            return f"{name}：失败：{result.error}"
        if result.run == SKIPPED:
            return f"{name}：未变，跳过"
        return f"{name}：完成（{result.seconds:.1f} 秒）"
    if result.run == FAILED:
        return f"{name}: failed: {result.error}"
    if result.run == SKIPPED:
        return f"{name}: unchanged, skipped"
    return f"{name}: done in {result.seconds:.1f} s"


# --- running on Dask --------------------------------------------------------------------------


def compute(
    tasks: Sequence[DistrictTask],
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    processes: bool = True,
    dashboard: bool = True,
    echo: Callable[[str], None] | None = None,
    lang: str = "en",
) -> list[DistrictResult]:
    """Run the tasks on Dask; return their results as they finish.

    Parameters
    ----------
    tasks : sequence of DistrictTask
        From :func:`plan`.
    scheduler : str, optional, keyword-only
        The address of an existing cluster's scheduler (``tcp://host:8786``); without it, a
        local cluster is started for the run and closed after it.
    workers : int, optional, keyword-only
        Worker processes of the local cluster (default: one per core), one thread each.
    processes : bool, keyword-only
        Local workers in processes (the default) or as threads of this one (tests).
    dashboard : bool, keyword-only
        Serve the local cluster's dashboard (its link is said through ``echo``).
    echo : callable, optional, keyword-only
        Says each district's end (and the dashboard's link) as a line of text.
    lang : {"zh", "en"}, keyword-only
        The language of those lines.

    Returns
    -------
    list of DistrictResult
        In the order they finished. A worker lost with its task counts as that task's failure.

    """
    say = echo or (lambda line: None)
    if not tasks:
        return []
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as exc:  # pragma: no cover - locked in the environment
        msg = "carecircle batch needs dask and distributed (pip install 'dask[distributed]')"
        raise InputError(msg) from exc
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except (OSError, TimeoutError, ValueError) as exc:
            msg = f"--scheduler {scheduler!r}: cannot reach the cluster ({one_line(exc)})"
            raise InputError(msg) from exc
    else:
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=":0" if dashboard else None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    results: list[DistrictResult] = []
    try:
        if dashboard and client.dashboard_link:
            say(f"{'Dask 仪表板：' if lang == 'zh' else 'dashboard: '}{client.dashboard_link}")
        futures = {
            client.submit(run_district, task, key=f"district-{task.folder}-{task.key[:12]}"): task
            for task in tasks
        }
        for number, future in enumerate(as_completed(futures), start=1):
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # the worker died or the task could not be sent
                result = DistrictResult(
                    task.district, task.folder, task.key, FAILED, error=one_line(exc)
                )
            results.append(result)
            say(f"[{number}/{len(futures)}] {progress_line(result, lang)}")
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return results


# --- the municipality's files -----------------------------------------------------------------


def district_table(results: Iterable[DistrictResult], areas: gpd.GeoDataFrame) -> pd.DataFrame:
    """One row per district: its run, its error, its headline figures and its rank.

    ``<circle>_rank`` is 1 for the district with the highest share of that circle; districts
    without a share get none.
    """
    rows = []
    for result in results:
        figures = result.figures or {}
        row: dict[str, Any] = {
            "district": result.district,
            # a failed district's folder, if any, is an earlier run's: not named as this one's
            "folder": f"{DISTRICTS_DIR}/{result.folder}"
            if result.folder and result.run != FAILED
            else "",
            "run": result.run,
            "error": result.error,
            "policy": figures.get("policy", ""),
            "communities": figures.get("communities", np.nan),
            "facilities": figures.get("facilities", np.nan),
            "below_standard": figures.get("below_standard", np.nan),
            "seconds": round(result.seconds, 1) if result.seconds > 0 else np.nan,
        }
        if "compounds" in figures:
            row["compounds"] = figures["compounds"]
            row["compounds_by_nearness"] = figures.get("compounds_by_nearness", 0)
        for c in figures.get("circles", []):
            name = c["circle"]
            row[f"{name}_share"] = c["share"]
            row[f"{name}_residents"] = c["residents"]
            row[f"{name}_within"] = c["within"]
            for status in ("covered", "partly", "not_covered", "not_analysed"):
                row[f"{name}_{status}"] = c[status]
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    for column in [c for c in table.columns if c.endswith("_share")]:
        table[column.removesuffix("_share") + "_rank"] = table[column].rank(
            ascending=False, method="min"
        )
    counts = [
        c
        for c in table.columns
        if c in ("communities", "facilities", "below_standard", "compounds")
        or c == "compounds_by_nearness"
        or c.endswith(("_covered", "_partly", "_not_analysed", "_rank"))
    ]
    table[counts] = table[counts].astype("Int64")  # whole numbers, blank where none
    order = {name: i for i, name in enumerate(areas["district"])}
    table["_order"] = table["district"].map(order).fillna(len(order))
    return table.sort_values(["_order", "district"]).drop(columns="_order").reset_index(drop=True)

"""The ``carecircle`` command: ``analyze`` a district, or run the ``demo``.

A user error prints one line (``carecircle: error: ...``) and exits 2, with no traceback.
Each command is one run (:func:`carecircle.outputs._files.run_folder`): its ``--out`` folder is
checked and locked before the analysis, the files are written into a temporary folder beside
it and moved in at the end, and SIGINT or SIGTERM removes them and exits 130 or 143.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tomllib
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path
from typing import Any

from . import (
    _progress,
    batch,
    costing,
    demand,
    network,
    outputs,
    pipeline,
    plan,
    plan_cost,
    policy,
    terrain,
)
from ._validate import walking_speed
from ._version import __version__
from .coords import SYSTEMS
from .costing.rows import check_year_value
from .data import demo_files
from .errors import InputError
from .inputs import readers as inputs
from .inputs import roads
from .inputs.care import read_care
from .outputs import maps, terminal, text
from .outputs._files import (
    ANALYSIS_FILES,
    RECORD,
    Interrupted,
    atomic,
    interruptible,
    output_names,
    run_folder,
)

logger = logging.getLogger("carecircle")

_INPUT_FILES = (
    "communities",
    "facilities",
    "population",
    "dem",
    "network",
    "candidates",
    "compounds",
    "columns",
    "plan",
    "divisions",
    "care",
    "districts",
    "policies",
)
"""The commands' options that name an input file, which ``--out`` must not overwrite."""

_SHEET_HELP = "layer name in a multi-layer file, or sheet name in a workbook of several"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    handler = _progress.Handler()  # a message ends a step's open line first
    handler.setFormatter(logging.Formatter("carecircle: %(message)s"))
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    logger.propagate = False
    if not args.verbose:
        warnings.simplefilter("ignore")
    try:
        with interruptible(), _reader_may_leave(), _progress.speaking(args.lang):
            if getattr(args, "speed_m_s", None) is not None:
                walking_speed(args.speed_m_s, 0.0, "--speed-m-s")  # before any file is read
            if hasattr(args, "basemap"):  # the map is drawn last: say so before the analysis
                if args.embed_key and not args.tianditu_key:
                    args.tianditu_key = os.environ.get("TIANDITU_KEY")
                maps._check_key(args.basemap, args.tianditu_key, embed_key=args.embed_key)
            if getattr(args, "care_min_count", None) is not None:  # before any file is read
                pipeline.check_care_min_count(args.care_min_count)
            if getattr(args, "crs", None) is not None:  # said before the analysis, not after
                outputs.output_crs(args.crs)
            with run_folder(
                args.out or _default_out(args),
                command=args.command,
                writes=output_names(_files_of(args)),
                inputs=_input_files(args),
                overwrite=args.overwrite or _resumes(args),
                numbered=args.out is None,
            ) as run:
                args.final_out = run.out  # batch writes its district folders there directly
                written = args.func(args, run.staging)
            print(_written(written, run.final, args.lang))
        return 0
    except InputError as exc:
        print(f"carecircle: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError as exc:  # numpy's "Unable to allocate ..." among them
        detail = " ".join(str(exc).split()) or "no detail"
        print(
            f"carecircle: error: out of memory ({detail}); free some (close other programs) "
            "or run on a machine with more",
            file=sys.stderr,
        )
        return 2
    except (Interrupted, KeyboardInterrupt) as exc:
        return Interrupted.report(exc, "carecircle")


_FILE_LABELS_ZH = {
    "summary": "社区汇总",
    "townships": "街道(乡镇)汇总",
    "facilities": "设施",
    "district": "全区指标",
    "compounds": "小区",
    "geopackage": "GIS 图层",
    "qgis_project": "QGIS 工程",
    "overview": "概览图",
    "workbook": "工作簿",
    "map": "地图",
    "csv": "表格",
    "xlsx": "工作簿",
    "proposed_sites": "建议新址",
    "candidates": "候选地址",
    "siting_communities": "选址前后（社区）",
    "siting_townships": "选址前后（街道）",
    "uncoverable": "无法覆盖的社区",
    "plan_by_year": "分年计划",
    "by_year": "逐年测算",
    "by_year_xlsx": "逐年测算工作簿",
    "care_map": "关爱地图",
    "districts_csv": "各区表格",
    "districts_xlsx": "各区工作簿",
}
"""The files' labels in Chinese (every label of :data:`carecircle.outputs._files.FILES`)."""


def _written(written: Mapping[str, Path], final: Any, lang: str) -> str:
    """The files written, by label, in the run's language, where they end up."""
    zh = lang == "zh"
    rows = [
        [f"{_FILE_LABELS_ZH.get(label, label)}：" if zh else f"{label}:", str(final(path))]
        for label, path in written.items()
    ]
    return ("输出文件：" if zh else "Files written:") + "\n" + text.table(rows, align="ll", sep=" ")


def _titled(analysis: pipeline.Analysis, title: str | None) -> pipeline.Analysis:
    """The analysis with ``title`` (``--title``) as its place name, when one is given."""
    if not title or not title.strip():
        return analysis
    return dataclasses.replace(analysis, parameters={**analysis.parameters, "title": title.strip()})


DEMO_TITLE = {
    "zh": "示例区（赫尔辛基街道上的虚构社区，carecircle 演示）",
    "en": "Demo district (invented communities on Helsinki streets, a carecircle demo)",
}
"""The demo's place name: it is no real district."""
DEMO_CARE_NOTE = {
    "zh": "演示数据：关爱地图的人数全部为虚构，并非任何调查结果",
    "en": "Demo data: every count of the care map is invented, from no survey of anyone",
}
"""What the demo's care map says of its counts, in every output that shows it."""


def _title_option(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--title",
        help="the district's name on the map, workbook and terminal (default: from the data's "
        "district column or townships, else the communities file's name)",
    )


def _files_of(args: argparse.Namespace) -> str:
    """The key of the command's files in :data:`carecircle.outputs._files.FILES`."""
    return "cost-plan" if getattr(args, "plan", None) and args.command == "cost" else args.command


def _input_files(args: argparse.Namespace) -> dict[str, Path | None]:
    """Each input file by its option (``--network`` twice: ``--network``, ``--network (2)``)."""
    files: dict[str, Path | None] = {}
    for name in _INPUT_FILES:
        option = f"--{name.replace('_', '-')}"
        value = getattr(args, name, None)
        for number, path in enumerate(value if isinstance(value, list) else [value], start=1):
            files[option if number == 1 else f"{option} ({number})"] = path
    return files


def _default_out(args: argparse.Namespace) -> Path:
    """A new folder for the run: ``maps/<name>-<date>-<time>`` (numbered when taken)."""
    if args.command == "demo":
        name = "demo"
    elif args.command == "plan-audit":
        name = "plan-audit"
    elif args.command == "cost":
        name = f"{(args.facilities or args.plan).stem}-cost"
    elif args.command == "batch":
        name = f"{args.communities.stem}-batch"
    elif args.communities is None:  # site --demo
        name = "demo-site" if args.demo else "site"
    else:
        suffix = {"analyze": "", "check": "-check", "site": "-site"}[args.command]
        name = f"{args.communities.stem}{suffix}"
    return Path("maps") / f"{name}-{datetime.now():%Y%m%d-%H%M%S}"


class _Stdout:
    """Standard output that goes quiet when its reader has gone (``carecircle … | head``).

    The run goes on and writes its files; only the rest of the terminal text is dropped, where
    Python would end the run with a ``BrokenPipeError`` traceback.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return int(self._stream.write(text))
            except BrokenPipeError:
                self._leave()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._leave()

    def _leave(self) -> None:
        self.gone = True
        # what Python would flush at exit goes nowhere, not into a second traceback
        with suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), self._stream.fileno())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def _reader_may_leave() -> Iterator[None]:
    """Run with :class:`_Stdout` in place of ``sys.stdout``, restored afterwards."""
    original = sys.stdout
    sys.stdout = _Stdout(original)
    try:
        yield
    finally:
        sys.stdout = original


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="carecircle",
        description="Can older residents walk to elderly-care and medical services in the "
        "time the policy promises?",
    )
    parser.add_argument("--version", action="version", version=f"carecircle {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    analyze = commands.add_parser("analyze", help="analyse a district's coverage")
    source = analyze.add_mutually_exclusive_group(required=True)
    _network_option(source)
    source.add_argument(
        "--place", help="place name or 'west,south,east,north' to download with osmnx (online)"
    )
    analyze.add_argument("--communities", type=Path, required=True, help="community polygons")
    analyze.add_argument("--facilities", type=Path, required=True, help="facility table or points")
    analyze.add_argument("--population", type=Path, help="population raster (GeoTIFF)")
    analyze.add_argument(
        "--dem", type=Path, help="elevation model (GeoTIFF, any CRS): slopes count"
    )
    analyze.add_argument("--communities-layer", help="layer name in a multi-layer file")
    analyze.add_argument("--facilities-layer", help=_SHEET_HELP)
    _compound_options(analyze)
    _care_options(analyze)
    _road_options(analyze)
    _common(analyze)
    _gis_options(analyze)
    analyze.set_defaults(func=_analyze)

    site = commands.add_parser("site", help="propose new sites that fill a circle's gaps")
    source = site.add_mutually_exclusive_group(required=True)
    _network_option(source)
    source.add_argument("--place", help="place name or bounding box to download with osmnx")
    source.add_argument(
        "--demo", action="store_true", help="the embedded demo district (its network and files)"
    )
    site.add_argument("--communities", type=Path, help="community polygons")
    site.add_argument("--facilities", type=Path, help="existing facilities")
    site.add_argument("--population", type=Path, help="population raster (GeoTIFF)")
    site.add_argument("--dem", type=Path, help="elevation model (GeoTIFF, any CRS): slopes count")
    site.add_argument(
        "--candidates", type=Path, help="candidate sites (table or points); default: generated"
    )
    site.add_argument("--candidate-coords", choices=SYSTEMS, default="wgs84")
    site.add_argument("--candidates-layer", help=_SHEET_HELP)
    site.add_argument("--communities-layer", help="layer name in a multi-layer file")
    site.add_argument("--facilities-layer", help=_SHEET_HELP)
    _care_options(site)
    _road_options(site)
    site.add_argument("--circle", default="eldercare", help="the circle to fill")
    site.add_argument("--tier", default="community_station", help="the tier of the new sites")
    question = site.add_mutually_exclusive_group(required=True)
    question.add_argument("--count", type=int, help="choose K sites covering the most residents")
    question.add_argument(
        "--cover-all", action="store_true", help="the fewest sites covering everyone coverable"
    )
    question.add_argument("--budget", type=float, help="the most residents for this many yuan")
    site.add_argument(
        "--capacity", action="store_true", help="limit each site by its floor area (with --count)"
    )
    site.add_argument(
        "--no-health-centre-preference",
        dest="prefer_health_centres",
        action="store_false",
        help="do not prefer, among equally good sites, those beside a health centre "
        "(医养结合, where the profile has [medical_integration])",
    )
    site.add_argument(
        "--spacing-m",
        type=float,
        default=100.0,
        help="spacing of the candidates generated without --candidates, m (default: 100)",
    )
    site.add_argument(
        "--time-limit-s", type=float, default=60.0, help="solver time limit, s (default: 60)"
    )
    where = site.add_mutually_exclusive_group()
    where.add_argument(
        "--municipal",
        dest="municipal",
        action="store_true",
        default=None,
        help="costing: the sites are in a municipal district (运城's 2000 m² cap)",
    )
    where.add_argument(
        "--not-municipal",
        dest="municipal",
        action="store_false",
        help="costing: the sites are outside municipal districts (运城's 1500 m² cap)",
    )
    _common(site)
    _gis_options(site)
    site.set_defaults(func=_site)

    check = commands.add_parser(
        "check", help="check facility standards and provision rules (no network needed)"
    )
    check.add_argument("--communities", type=Path, required=True, help="community polygons")
    check.add_argument("--facilities", type=Path, required=True, help="facility table or points")
    _network_option(check, purpose="assign stations to centres on foot, not by line")
    check.add_argument(
        "--dem", type=Path, help="elevation model (GeoTIFF, any CRS) for --network: slopes count"
    )
    check.add_argument("--communities-layer", help="layer name in a multi-layer file")
    check.add_argument("--facilities-layer", help=_SHEET_HELP)
    _compound_options(check)
    _road_options(check)
    _common(check, draws_map=False)
    check.set_defaults(func=_check)

    audit = commands.add_parser(
        "plan-audit",
        help="audit a facility plan: one centre per township, one station per community",
    )
    audit.add_argument(
        "--plan", type=Path, help="plan table shaped like 垫江 annex 2 (default: the bundled one)"
    )
    audit.add_argument(
        "--divisions",
        type=Path,
        help="community/village code list (default: the bundled 2023 list)",
    )
    audit.add_argument(
        "--policy", help="profile whose [[targets.yearly]] the plan's years are checked against"
    )
    audit.add_argument("--plan-sheet", help="sheet name in a workbook of several sheets")
    audit.add_argument("--divisions-sheet", help="sheet name in a workbook of several sheets")
    audit.add_argument("--out", type=Path, help="output folder (default: maps/plan-audit-<time>)")
    _overwrite(audit)
    audit.add_argument("--lang", choices=("zh", "en"), default="zh", help="headers and labels")
    audit.add_argument("-v", "--verbose", action="store_true", help="more messages")
    audit.set_defaults(func=_plan_audit)

    cost = commands.add_parser(
        "cost", help="cost facilities (existing or proposed) under the profile's money rules"
    )
    costed = cost.add_mutually_exclusive_group(required=True)
    costed.add_argument("--facilities", type=Path, help="facility table or points")
    costed.add_argument(
        "--plan",
        type=Path,
        help="a township plan (as plan-audit reads) to cost year by year: cost_by_year.csv",
    )
    cost.add_argument("--plan-sheet", help="the plan workbook's sheet (with --plan)")
    cost.add_argument(
        "--divisions",
        type=Path,
        help="statistical code list: communities and villages per township, bounding how many "
        "of a plan's stations and points are stations (with --plan; default: the bundled one)",
    )
    cost.add_argument("--divisions-sheet", help="the code-list workbook's sheet (with --plan)")
    cost.add_argument("--policy", default="chongqing", help="built-in profile name or .toml file")
    where = cost.add_mutually_exclusive_group()
    where.add_argument(
        "--municipal",
        dest="municipal",
        action="store_true",
        default=None,
        help="the facilities are in a municipal district (运城's 2000 m² cap)",
    )
    where.add_argument(
        "--not-municipal",
        dest="municipal",
        action="store_false",
        help="the facilities are outside municipal districts (运城's 1500 m² cap)",
    )
    cost.add_argument("--first-year", type=int, help="first year of the horizon")
    cost.add_argument(
        "--operating-from",
        choices=costing.OPERATING_FROM,
        default="opening",
        help="a new facility's operating award and bed subsidy count from the year it opens "
        "(default) or from the year after (next); no document says which",
    )
    cost.add_argument(
        "--years",
        type=int,
        help="number of years to total (default: 1; with --plan, to the plan's last year)",
    )
    cost.add_argument("--facility-coords", choices=SYSTEMS, default="wgs84")
    cost.add_argument("--facilities-layer", help=_SHEET_HELP)
    cost.add_argument(
        "--out", type=Path, help="output folder (default: maps/<facilities>-cost-<time>)"
    )
    _overwrite(cost)
    cost.add_argument("--lang", choices=("zh", "en"), default="zh", help="headers and labels")
    cost.add_argument("-v", "--verbose", action="store_true", help="more messages")
    cost.set_defaults(func=_cost)

    batch = commands.add_parser(
        "batch", help="analyse every district of a municipality in one run, on Dask"
    )
    _network_option(batch)
    batch.add_argument(
        "--communities", type=Path, required=True, help="community polygons of the whole area"
    )
    batch.add_argument(
        "--facilities", type=Path, required=True, help="facility table or points of the whole area"
    )
    batch.add_argument(
        "--districts", type=Path, help="district polygons (default: the communities' column)"
    )
    batch.add_argument(
        "--district-column",
        default="district",
        help="the column naming each community's district, or each polygon's of --districts "
        "(default: district)",
    )
    batch.add_argument(
        "--policies",
        type=Path,
        help="table (CSV or workbook) of district and policy: a profile per district "
        "(the others take --policy)",
    )
    batch.add_argument("--population", type=Path, help="population raster (GeoTIFF)")
    batch.add_argument("--dem", type=Path, help="elevation model (GeoTIFF, any CRS): slopes count")
    batch.add_argument("--communities-layer", help="layer name in a multi-layer file")
    batch.add_argument("--facilities-layer", help=_SHEET_HELP)
    batch.add_argument("--districts-layer", help="layer name in a multi-layer file")
    _compound_options(batch)
    _care_options(batch)
    _road_options(batch)
    batch.add_argument(
        "--scheduler",
        help="address of an existing Dask cluster's scheduler, e.g. tcp://10.0.0.5:8786 "
        "(default: a local cluster of one worker per core)",
    )
    batch.add_argument(
        "--workers", type=int, help="worker processes of the local cluster (default: one per core)"
    )
    batch.add_argument(
        "--recompute",
        action="store_true",
        help="compute every district again, even those unchanged since their folder was written",
    )
    _common(batch)
    _gis_options(batch)
    batch.set_defaults(func=_batch)

    demo = commands.add_parser("demo", help="run the whole job on the embedded demo data")
    demo.add_argument("--out", type=Path, help="output folder (default: maps/demo-<time>)")
    _overwrite(demo)
    _title_option(demo)
    _map_options(demo)
    _gis_options(demo)
    demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    demo.add_argument("-v", "--verbose", action="store_true", help="more messages")
    demo.set_defaults(func=_demo)
    return parser


def _network_option(
    cmd: argparse._ActionsContainer,  # a parser or a group of exclusive options
    *,
    purpose: str = "the walking network",
) -> None:
    cmd.add_argument(
        "--network",
        type=Path,
        action="append",
        help=f"{purpose}: an OpenStreetMap file (.osm, .osm.bz2, .osm.pbf) or a road layer "
        "(.gpkg, .shp, .geojson, .gdb, .dxf); twice for one of each (the layer fills the gaps)",
    )


def _compound_options(cmd: argparse.ArgumentParser) -> None:
    """Residential compounds (小区) to check against the profile's compound rules."""
    cmd.add_argument(
        "--compounds",
        type=Path,
        help="residential compounds (小区): polygons, or points in a table with lon/lat",
    )
    cmd.add_argument("--compounds-layer", help=_SHEET_HELP)
    cmd.add_argument("--compound-coords", choices=SYSTEMS, default="wgs84")
    cmd.add_argument(
        "--new-from",
        type=int,
        metavar="YEAR",
        help="a compound built in or after YEAR is new (default: each rule's document year)",
    )


def _compound_args(args: argparse.Namespace) -> dict[str, Any]:
    """The compound options as :func:`carecircle.pipeline.run` takes them, checked."""
    if args.new_from is not None:
        check_year_value(args.new_from, "--new-from")
    if args.compounds is None and args.new_from is not None:
        msg = "--new-from applies to compounds given with --compounds"
        raise InputError(msg)
    return {
        "compounds": args.compounds,
        "compound_coords": args.compound_coords,
        "new_from_year": args.new_from,
    }


def _care_options(cmd: argparse.ArgumentParser) -> None:
    """The care map's options (关爱地图): its table, sheet, coordinates and smallest count."""
    cmd.add_argument(
        "--care",
        type=Path,
        help="care table (关爱地图): counts per community, or one record per person",
    )
    cmd.add_argument("--care-layer", help="sheet name in a workbook of several")
    cmd.add_argument(
        "--care-coords", choices=SYSTEMS, default="wgs84", help="system of the records' lon/lat"
    )
    cmd.add_argument("--care-crs", help="projected CRS of the records' x/y, e.g. EPSG:4545")
    cmd.add_argument(
        "--care-min-count",
        type=int,
        help="smallest count the care map shows (default: the profile's [care_map] min_count)",
    )


def _road_options(cmd: argparse.ArgumentParser) -> None:
    """The options of a road layer given with ``--network``."""
    cmd.add_argument("--network-layer", help="layer name in a multi-layer road file")
    cmd.add_argument(
        "--network-coords",
        choices=SYSTEMS,
        default="wgs84",
        help="coordinates of a longitude/latitude road layer (gcj02: Gaode, bd09: Baidu)",
    )
    cmd.add_argument(
        "--network-crs",
        help="CRS of a road layer whose file holds none, e.g. EPSG:4545 (a DXF drawing)",
    )
    cmd.add_argument(
        "--snap-tolerance-m",
        type=float,
        default=roads.SNAP_TOLERANCE_M,
        help="a road line's end this close to another line joins it, m "
        f"(default: {roads.SNAP_TOLERANCE_M:g})",
    )


def _road_read(args: argparse.Namespace, mapping: Mapping[str, Any]) -> roads.RoadOptions:
    """How to read the road layer of ``--network``, from the options and the columns file."""
    options = roads.RoadOptions(
        layer=args.network_layer,
        coords=args.network_coords,
        columns=mapping["network"] or None,
        classes=mapping["network.classes"] or None,
        crs=args.network_crs,
        snap_tolerance_m=args.snap_tolerance_m,
    )
    given = options.given()
    if given and not getattr(args, "network", None):
        verb = "applies" if len(given) == 1 else "apply"
        msg = f"{', '.join(given)} {verb} to a road layer given with --network"
        raise InputError(msg)
    return options


def _common(cmd: argparse.ArgumentParser, *, draws_map: bool = True) -> None:
    cmd.add_argument("--policy", default="chongqing", help="built-in profile name or .toml file")
    cmd.add_argument("--speed-m-s", type=float, help="walking speed, m/s (default: the policy's)")
    cmd.add_argument("--facility-coords", choices=SYSTEMS, default="wgs84")
    cmd.add_argument("--community-coords", choices=SYSTEMS, default="wgs84")
    cmd.add_argument("--columns", type=Path, help="TOML file mapping fields to your column names")
    cmd.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="LAYER.FIELD=COLUMN",
        help="map one field, e.g. communities.elderly=60岁以上人口 (repeatable)",
    )
    cmd.add_argument("--out", type=Path, help="output folder (default: maps/<name>-<time>)")
    _overwrite(cmd)
    _title_option(cmd)
    if draws_map:
        _map_options(cmd)
    else:  # check: tables and a workbook, no map
        cmd.add_argument("--lang", choices=("zh", "en"), default="zh", help="table language")
    cmd.add_argument("--no-progress", action="store_true", help="hide progress bars")
    cmd.add_argument("-v", "--verbose", action="store_true", help="more messages")


def _overwrite(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an earlier run's outputs in --out (refused without it)",
    )


def _map_options(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--lang", choices=("zh", "en"), default="zh", help="map and table language")
    cmd.add_argument(
        "--basemap",
        choices=maps.BASEMAPS,
        default="none",
        help="background tiles (default none: works offline, streets drawn from the network)",
    )
    cmd.add_argument(
        "--embed-key",
        action="store_true",
        help="write the 天地图 key into map.html, where anyone with the file can use it "
        "(default: the map asks for the key when opened)",
    )
    cmd.add_argument(
        "--tianditu-key",
        help="天地图 key to embed with --embed-key (default: $TIANDITU_KEY)",
    )


def _gis_options(cmd: argparse.ArgumentParser) -> None:
    """The GeoPackage's CRS and field names (commands writing coverage.gpkg)."""
    cmd.add_argument(
        "--crs",
        help="CRS of coverage.gpkg and coverage.qgz, e.g. EPSG:4490 (CGCS2000), EPSG:4545 "
        "(default: EPSG:4326, WGS 84; the CSVs' lon/lat stay WGS 84)",
    )
    cmd.add_argument(
        "--shapefile-safe",
        action="store_true",
        help="short field names in coverage.gpkg (at most 10 characters, listed in its "
        "field_names table), so its layers export to Shapefile unchanged",
    )


def _download(args: argparse.Namespace) -> network.WalkNetwork:
    """The walking network of ``--place``, once the local files are known to be there."""
    inputs._check_path(args.communities, csv_ok=False)  # said before a download, not after
    for points in (args.facilities, *(getattr(args, n, None) for n in ("candidates", "compounds"))):
        if points is not None:
            inputs._check_path(points, csv_ok=True)
    if args.population is not None:
        demand._require_raster(args.population)
    return network.from_place(args.place)


def _read_layers(
    args: argparse.Namespace, columns: Mapping[str, Mapping[str, str]]
) -> tuple[Any, Any]:
    """The communities and facilities the command names, read as :func:`pipeline.run` does."""
    return pipeline._read_layers(
        args.communities,
        args.facilities,
        args.facility_coords,
        args.community_coords,
        columns,
        {"communities": args.communities_layer, "facilities": args.facilities_layer},
    )


def _read_care(
    args: argparse.Namespace, communities: Any, columns: Mapping[str, Mapping[str, str]]
) -> Any:
    """The care table of ``--care`` read against ``communities``; None without one.

    Counted as read: a records table's homes stay in memory, never written.
    """
    if args.care is None:
        return None
    return read_care(
        args.care,
        communities,
        columns=columns.get("care"),
        coords=args.care_coords,
        crs=args.care_crs,
        layer=args.care_layer,
    )


def _analyze(args: argparse.Namespace, out: Path) -> dict[str, Path]:
    profile = policy.load(args.policy)
    columns = _columns(args.columns, args.column)
    road_options = _road_read(args, columns)
    net: list[Path] | network.WalkNetwork = _download(args) if args.place else args.network
    analysis = pipeline.run(
        net,
        args.communities,
        args.facilities,
        policy=profile,
        population_raster=args.population,
        dem=args.dem,
        speed_m_s=args.speed_m_s,
        facility_coords=args.facility_coords,
        community_coords=args.community_coords,
        columns=columns,
        layers={
            "communities": args.communities_layer,
            "facilities": args.facilities_layer,
            "compounds": args.compounds_layer,
            "care": args.care_layer,
        },
        road_options=road_options,
        progress=not args.no_progress,
        **_compound_args(args),
        care=args.care,
        care_coords=args.care_coords,
        care_crs=args.care_crs,
        care_min_count=args.care_min_count,
    )
    analysis = dataclasses.replace(analysis, prepared=None)  # its arrays are not written
    return _write(_titled(analysis, args.title), out, args)


def _resumes(args: argparse.Namespace) -> bool:
    """True when ``batch`` is given an ``--out`` that an earlier batch wrote: it resumes."""
    if args.command != "batch" or args.out is None:
        return False
    try:
        record = json.loads((args.out / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return (args.out / batch.DISTRICTS_DIR).is_dir() and not any(
            (args.out / name).exists() for name in ANALYSIS_FILES.values()
        )
    return isinstance(record, dict) and record.get("command") == "batch"


def _batch(args: argparse.Namespace, out: Path) -> dict[str, Path]:
    if args.workers is not None and args.workers < 1:
        msg = f"--workers must be 1 or more, found {args.workers!r}"
        raise InputError(msg)
    if args.policies is None:
        policy.load(args.policy)  # a bad default profile fails the run, before any reading
    policies = batch.read_policies(args.policies) if args.policies else {}
    columns = _columns(args.columns, args.column)
    road_options = _road_read(args, columns)
    if args.dem is not None:
        terrain.check_dem(args.dem)
    if args.population is not None:
        demand._require_raster(args.population)
    compound_args = _compound_args(args)
    shown = not args.no_progress
    with _progress.step("read_layers", show=shown):
        comm, fac = _read_layers(args, columns)
        compounds = pipeline._read_compounds(
            args.compounds, args.compound_coords, columns, {"compounds": args.compounds_layer}
        )
        care = _read_care(args, comm, columns)
        districts = (
            batch.read_districts(args.districts, layer=args.districts_layer)
            if args.districts
            else None
        )
    with _progress.step("read_network", show=shown):
        net = roads.read_network(args.network, options=road_options)
    network_key = network.cache_path(args.network, name="network", options=repr(road_options)).stem
    final = args.final_out
    (final / batch.DISTRICTS_DIR).mkdir(parents=True, exist_ok=True)
    with _progress.step("plan", show=shown):
        todo = batch.plan(
            net,
            comm,
            fac,
            final,
            network_key=network_key,
            policies=policies,
            default_policy=args.policy,
            districts=districts,
            district_column=args.district_column,
            population=args.population,
            dem=args.dem,
            speed_m_s=args.speed_m_s,
            options={
                "lang": args.lang,
                "crs": args.crs,
                "shapefile_safe": args.shapefile_safe,
                "basemap": args.basemap,
                "tianditu_key": args.tianditu_key if args.embed_key else None,
                "embed_key": args.embed_key,
                "files": {
                    "communities_file": str(args.communities),
                    "facilities_file": str(args.facilities),
                    **({"compounds_file": str(args.compounds)} if args.compounds else {}),
                    **({"care_file": str(args.care)} if args.care else {}),
                },
            },
            recompute=args.recompute,
            compounds=compounds,
            new_from_year=compound_args["new_from_year"],
            care=care,
            care_min_count=args.care_min_count,
        )
    del care  # the tasks hold each district's part
    credit = maps.network_credit(
        {"network": net.source, "network_kind": (net.built or {}).get("network_kind", "")}
    )
    del net  # the workers load their districts' clips
    zh = args.lang == "zh"
    skipped = [r for r in todo.done if r.run == batch.SKIPPED]
    early = [r for r in todo.done if r.run == batch.FAILED]
    total = len(todo.tasks) + len(todo.done)
    print(
        f"共 {total} 个区：待计算 {len(todo.tasks)}，未变跳过 {len(skipped)}，"
        f"计算前失败 {len(early)}"
        if zh
        else f"{total} districts: {len(todo.tasks)} to compute, {len(skipped)} unchanged "
        f"(skipped), {len(early)} failed before running"
    )
    for result in early:
        print(batch.progress_line(result, args.lang))
    results = batch.compute(
        todo.tasks, scheduler=args.scheduler, workers=args.workers, echo=print, lang=args.lang
    )
    table = batch.district_table([*todo.done, *results], todo.areas)
    written = batch.write_municipal(
        table,
        todo.areas,
        final,
        out,
        crs=args.crs,
        lang=args.lang,
        title=args.title or "",
        circle_labels={
            c.name: c.label_zh if zh else c.label_en for c in policy.load(args.policy).circles
        },
        credit=credit,
    )
    computed = sum(r.run == batch.COMPUTED for r in results)
    failed = int((table["run"] == batch.FAILED).sum()) if len(table) else 0
    print(
        f"计算 {computed}，跳过 {len(skipped)}，失败 {failed}（见 districts.csv）"
        if zh
        else f"computed {computed}, skipped {len(skipped)}, failed {failed} (see districts.csv)"
    )
    return written


def _site(args: argparse.Namespace, out: Path) -> dict[str, Path]:
    from .siting import sites

    if args.demo:
        _use_demo(args)
    missing = [f"--{name}" for name in ("communities", "facilities") if getattr(args, name) is None]
    if missing:
        msg = f"site needs {' and '.join(missing)} (or --demo for the embedded district)"
        raise InputError(msg)
    profile = policy.load(args.policy)
    question = {
        name: getattr(args, name)
        for name in (
            "circle",
            "tier",
            "count",
            "cover_all",
            "budget",
            "capacity",
            "spacing_m",
            "time_limit_s",
        )
    }
    preference = {"prefer_health_centres": args.prefer_health_centres}
    sites.check_question(profile, candidates_given=args.candidates is not None, **question)
    columns = _columns(args.columns, args.column)
    road_options = _road_read(args, columns)
    shown = not args.no_progress
    with _progress.step("read_layers", show=shown):
        comm, fac = _read_layers(args, columns)
    if args.place:
        net = _download(args)
    else:
        with _progress.step("read_network", show=shown):
            net = roads.read_network(args.network, options=road_options)
    candidates = (
        inputs.read_candidates(
            args.candidates, coords=args.candidate_coords, layer=args.candidates_layer
        )
        if args.candidates
        else None
    )
    with _progress.step("prepare", show=shown):
        prep = pipeline.prepare(
            net,
            comm,
            fac,
            policy=profile,
            population_raster=args.population,
            dem=args.dem,
            speed_m_s=args.speed_m_s,
        )
    care = _read_care(args, comm, columns)
    analysis = pipeline.analyze(
        net,
        comm,
        fac,
        policy=profile,
        prepared=prep,
        progress=shown,
        care=care,
        care_min_count=args.care_min_count,
    )
    if args.demo and care is not None and args.care == demo_files()["care"]:
        analysis = _invented_care(analysis, args.lang)
    files = {"communities_file": str(args.communities), "facilities_file": str(args.facilities)}
    analysis = dataclasses.replace(analysis, parameters={**analysis.parameters, **files})
    with _progress.step("sites", show=shown):
        proposal = sites.propose(
            prep, candidates, policy=profile, municipal=args.municipal, **question, **preference
        )
    if args.demo and not args.title:
        args.title = DEMO_TITLE[args.lang]
    written = _write(_titled(sites.attach(analysis, proposal), args.title), out, args)
    print(terminal.format_proposal(proposal, lang=args.lang))
    print()
    return written | outputs.write_siting(proposal, out, lang=args.lang)


def _check(args: argparse.Namespace, out: Path) -> dict[str, Path]:
    profile = policy.load(args.policy)
    columns = _columns(args.columns, args.column)
    road_options = _road_read(args, columns)
    analysis = pipeline.check_only(
        args.communities,
        args.facilities,
        policy=profile,
        network=args.network,
        dem=args.dem,
        speed_m_s=args.speed_m_s,
        facility_coords=args.facility_coords,
        community_coords=args.community_coords,
        columns=columns,
        layers={
            "communities": args.communities_layer,
            "facilities": args.facilities_layer,
            "compounds": args.compounds_layer,
        },
        road_options=road_options,
        progress=not args.no_progress,
        **_compound_args(args),
    )
    return _write(_titled(analysis, args.title), out, args)


def _cost(args: argparse.Namespace, out: Path) -> dict[str, Path]:
    if args.years is not None and args.years < 1:
        msg = f"--years must be 1 or more, found {args.years!r}"
        raise InputError(msg)
    if args.first_year is not None:  # checked before the file is read, naming the flags
        check_year_value(args.first_year, "--first-year")
        check_year_value(args.first_year + (args.years or 1) - 1, "--first-year + --years - 1")
    if args.plan is None:
        for flag in ("plan_sheet", "divisions", "divisions_sheet"):
            if getattr(args, flag) is not None:
                msg = f"--{flag.replace('_', '-')} goes with --plan, not --facilities"
                raise InputError(msg)
    profile = policy.load(args.policy)
    if args.plan is not None:
        return _cost_plan(args, out, profile)
    facilities = inputs.read_facilities(
        args.facilities, coords=args.facility_coords, layer=args.facilities_layer
    )
    result = costing.cost(
        facilities,
        profile,
        municipal=args.municipal,
        first_year=args.first_year,
        years=args.years or 1,
        source=args.facilities,
        operating_from=args.operating_from,
    )
    print(outputs.format_costing(result, lang=args.lang))
    return outputs.write_costing(result, out, lang=args.lang)


def _cost_plan(args: argparse.Namespace, out: Path, profile: policy.Policy) -> dict[str, Path]:
    township_plan = plan.read_plan(args.plan, sheet=args.plan_sheet)
    with plan._file_or_bundled(args.divisions, plan.BUNDLED_DIVISIONS) as path:
        divisions = plan.read_divisions(path, sheet=args.divisions_sheet)
    result = plan_cost.cost_plan(
        township_plan,
        profile,
        divisions=divisions,
        first_year=args.first_year,
        years=args.years,
        municipal=args.municipal,
        source=args.plan,
        operating_from=args.operating_from,
    )
    print(outputs.format_plan_costing(result, lang=args.lang))
    return outputs.write_plan_costing(result, out, lang=args.lang)


def _plan_audit(args: argparse.Namespace, out: Path) -> dict[str, Path]:
    with plan._file_or_bundled(args.plan, plan.BUNDLED_PLAN) as path:
        township_plan = plan.read_plan(path, sheet=args.plan_sheet)
    with plan._file_or_bundled(args.divisions, plan.BUNDLED_DIVISIONS) as path:
        divisions = plan.read_divisions(path, sheet=args.divisions_sheet)
    result = plan.audit(township_plan, divisions)
    written = outputs.write_plan_audit(result, out, lang=args.lang)
    print(outputs.format_plan_audit(result, lang=args.lang))
    print()
    if args.policy is not None:  # the profile's [[targets.yearly]] against the plan's years
        targets = plan.progress(result, policy.load(args.policy))
        written["plan_targets"] = outputs.plan_tables.write_targets(targets, out)
        print(targets.drop(columns="source").to_string(index=False))
        print()
    return written


def _demo(args: argparse.Namespace, out: Path) -> dict[str, Path]:
    files = demo_files()
    analysis = pipeline.run(
        files["network"],
        files["communities"],
        files["facilities"],
        policy=policy.load("yuzhong"),
        population_raster=files["population"],
        progress=not args.no_progress,
        compounds=files["compounds"],  # invented, as its note column says
        care=files["care"],  # invented counts (see the demo's README)
    )
    analysis = _invented_care(analysis, args.lang)
    analysis = dataclasses.replace(analysis, prepared=None)  # its arrays are not written
    return _write(_titled(analysis, args.title or DEMO_TITLE[args.lang]), out, args)


def _invented_care(analysis: pipeline.Analysis, lang: str) -> pipeline.Analysis:
    """The demo's analysis, its care map saying wherever it is shown that it is invented."""
    if analysis.care is None:
        return analysis
    care = dataclasses.replace(analysis.care, note=DEMO_CARE_NOTE[lang])
    params = {**analysis.parameters, "care_note": DEMO_CARE_NOTE["en"]}
    return dataclasses.replace(analysis, care=care, parameters=params)


def _use_demo(args: argparse.Namespace) -> None:
    """Take the demo district's files for every input of ``site`` not given."""
    files = demo_files()
    args.network = [files["network"]]
    if args.communities is None and args.care is None:  # its care table fits its communities
        args.care = files["care"]
    for name in ("communities", "facilities", "population"):
        if getattr(args, name) is None:
            setattr(args, name, files[name])


def _write(analysis: pipeline.Analysis, out: Path, args: argparse.Namespace) -> dict[str, Path]:
    """Write the analysis into ``out`` and print its tables; return the files by label."""
    progress = not getattr(args, "no_progress", True)

    def write_map(path: Path) -> Path:
        fmap = maps.build(
            analysis,
            lang=args.lang,
            basemap=args.basemap,
            tianditu_key=args.tianditu_key,
            embed_key=args.embed_key,
        )
        with atomic(path) as tmp:
            fmap.save(str(tmp))
        return path

    also = {"map": (ANALYSIS_FILES["map"], write_map)} if analysis.circles_measured else {}
    written = outputs.write_all(
        analysis,
        out,
        lang=args.lang,
        progress=progress,
        also=also,
        crs=getattr(args, "crs", None),
        shapefile_safe=getattr(args, "shapefile_safe", False),
    )
    print(terminal.format_analysis(analysis, lang=args.lang))
    print()
    return written


_MAPPED = ("communities", "facilities", "compounds", "network", "care")
"""The layers whose columns ``--column`` and ``--columns`` map."""


def _columns(path: Path | None, pairs: Sequence[str]) -> dict[str, dict[str, str]]:
    """Field → column per layer, from the ``--columns`` file and the ``--column`` pairs.

    The file's ``[network.classes]`` table (a road class → its kind) is returned under
    ``"network.classes"``.
    """
    mapping: dict[str, dict[str, str]] = {name: {} for name in (*_MAPPED, "network.classes")}
    if path is not None:
        if not path.is_file():
            msg = f"{path}: column mapping file not found"
            raise InputError(msg)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            msg = f"{path}: not a valid TOML file ({exc})"
            raise InputError(msg) from exc
        for layer, fields in raw.items():
            if layer not in _MAPPED or not isinstance(fields, dict):
                msg = (
                    f"{path}: unknown table [{layer}]; expected [communities], [facilities], "
                    "[compounds], [network] and [care]"
                )
                raise InputError(msg)
            for key, value in fields.items():
                if layer == "network" and key == "classes":
                    if not isinstance(value, dict):
                        msg = f"{path}: [network.classes] must be a table of class = kind"
                        raise InputError(msg)
                    mapping["network.classes"].update({str(k): str(v) for k, v in value.items()})
                else:
                    mapping[layer][str(key)] = str(value)
    for pair in pairs:
        key, sep, column = pair.partition("=")
        layer, dot, field = key.partition(".")
        if not sep or not dot or layer not in _MAPPED or not field or not column:
            msg = (
                f"--column {pair!r}: expected LAYER.FIELD=COLUMN with LAYER communities, "
                "facilities, compounds, network or care, e.g. communities.elderly=60岁以上人口"
            )
            raise InputError(msg)
        mapping[layer][field] = column
    return mapping


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

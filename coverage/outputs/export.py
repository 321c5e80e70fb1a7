"""Writing results: ``summary.csv``, ``townships.csv`` and ``coverage.gpkg``.

Every file is written to a temporary name beside its target and moved into place only when
complete, so an interrupted run never leaves a half-written file where a good one was.

The GeoPackage is written in WGS 84 (EPSG:4326) unless another CRS is asked for
(:func:`output_crs`, ``--crs``); the CSVs' ``lon`` and ``lat`` columns stay WGS 84 whatever it
is, as their names say.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from pyproj.exceptions import CRSError

from .._cells import REPLACEMENT, to_csv
from ..compounds import COMPOUND_RULES, STATUSES
from ..compounds import STATUS_LABELS as COMPOUND_STATUS_LABELS
from ..errors import InputError
from ..pipeline import Analysis
from ..standards import (
    CENTRE_COLUMNS,
    COMMUNITY_CHECK_COLUMNS,
    HEALTH_CENTRE_COLUMNS,
    STANDARD_COLUMNS,
)
from ..terms import Lang
from . import qgis
from ._files import atomic
from .care_tables import care_district_rows, care_layer
from .fieldnames import shapefile_names
from .headline import headline

logger = logging.getLogger(__name__)

#: Per-circle columns of summary.csv, in order, after the community columns.
CIRCLE_COLUMNS = (
    "share",
    "status",
    "median_min",
    "p90_min",
    "nearest",
    "minutes",
    "within",
    "residents",
)
COMMUNITY_COLUMNS = (
    "id",
    "name",
    "kind",
    "township",
    "shared_station",
    "population",
    "elderly",
    "basis",
    "input_status",
    "input_note",
    "demand_method",
    "demand_points",
    "off_network_share",
)
#: Standards checks of each community, after the circle columns.
CHECK_COLUMNS = COMMUNITY_CHECK_COLUMNS
#: Columns of facilities.csv.
FACILITY_COLUMNS = (
    "id",
    "name",
    "tier",
    "area_m2",
    "beds",
    "nursing_beds",
    "social_operated",
    "medical_capable",
    "medical_integrated",
    "community_id",
    "township",
    "network_status",
    "access_m",
    *STANDARD_COLUMNS,
    *CENTRE_COLUMNS,
    *HEALTH_CENTRE_COLUMNS,
)
GPKG_CRS = "EPSG:4326"
"""The GeoPackage's CRS unless another is asked for: WGS 84."""
GPKG_VERSION = "1.2"
FIELD_NAMES_TABLE = "field_names"
"""The table of a ``shapefile_safe`` GeoPackage mapping each layer's short names back."""
_CRS_EXAMPLES = (
    "expected e.g. EPSG:4326 (WGS 84), EPSG:4490 (CGCS2000) or EPSG:4545 (CGCS2000 / 3-degree "
    "Gauss-Kruger CM 108E)"
)


def output_crs(crs: str | int | pyproj.CRS | None = None, *, option: str = "--crs") -> pyproj.CRS:
    """The CRS the GeoPackage is written in, checked: WGS 84 when ``crs`` is None.

    Parameters
    ----------
    crs : str, int or pyproj.CRS, optional
        Anything :meth:`pyproj.CRS.from_user_input` reads: ``"EPSG:4490"``, ``4545``, a WKT or
        PROJ string of a local CRS. A two-dimensional geographic or projected CRS.
    option : str, keyword-only
        The name the user gave it by, for the message (``--crs``).

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    carecircle.errors.InputError
        One line, for text that names no CRS or a CRS that is neither geographic nor projected
        (geocentric, vertical).

    """
    if crs is None:
        return pyproj.CRS.from_user_input(GPKG_CRS)
    try:
        found = pyproj.CRS.from_user_input(crs)
    except CRSError as exc:
        reason = " ".join(str(exc).rsplit("proj_create: ", 1)[-1].split()).rstrip(")")
        msg = (
            f"{option} {str(crs)!r}: not a coordinate reference system ({reason}); {_CRS_EXAMPLES}"
        )
        raise InputError(msg) from exc
    if not (found.is_geographic or found.is_projected) or found.is_vertical:
        msg = (
            f"{option} {str(crs)!r}: {found.name} is {found.type_name}, not a geographic or "
            f"projected CRS; {_CRS_EXAMPLES}"
        )
        raise InputError(msg)
    return found.to_2d() if len(found.axis_info) > 2 else found


def crs_text(crs: pyproj.CRS) -> str:
    """A CRS as its users name it: ``EPSG:4490`` where it has a code, else its PROJ text."""
    code = crs.to_authority(min_confidence=90)
    if code is not None:
        return ":".join(code)
    return str(crs.to_string())


def summary_table(analysis: Analysis) -> pd.DataFrame:
    """The rows of ``summary.csv``: one per community, every community, in input order."""
    frame = analysis.communities
    columns = [c for c in COMMUNITY_COLUMNS if c in frame]
    for name in analysis.circles_measured:
        columns += [f"{name}_{c}" for c in CIRCLE_COLUMNS]
    columns += [c for c in CHECK_COLUMNS if c in frame]
    table = pd.DataFrame(frame[columns])
    for column in ("area_per_resident_m2", "eldercare_area_m2"):
        if column in table:
            table[column] = table[column].round(4)
    for name in analysis.circles_measured:
        table[f"{name}_share"] = table[f"{name}_share"].round(4)
        for col in ("median_min", "p90_min"):
            table[f"{name}_{col}"] = table[f"{name}_{col}"].round(1)
        for col in ("within", "residents"):
            table[f"{name}_{col}"] = table[f"{name}_{col}"].round(1)
    return table


def write_summary(analysis: Analysis, path: str | Path) -> Path:
    """Write ``summary.csv`` (UTF-8 with BOM, so Excel shows Chinese names)."""
    path = Path(path)
    with atomic(path) as tmp:
        to_csv(summary_table(analysis), tmp)
    return path


def write_townships(analysis: Analysis, path: str | Path) -> Path:
    """Write ``townships.csv``: the per-township table."""
    path = Path(path)
    with atomic(path) as tmp:
        to_csv(analysis.townships(), tmp)
    return path


def write_facilities(analysis: Analysis, path: str | Path) -> Path:
    """Write ``facilities.csv``: each facility with its standards and centre checks."""
    path = Path(path)
    frame = analysis.facilities
    with atomic(path) as tmp:
        to_csv(pd.DataFrame(frame[[c for c in FACILITY_COLUMNS if c in frame]]), tmp)
    return path


HEADLINE_SOURCE = "headline: sum of {circle}_within / sum of {circle}_residents in summary.csv"
"""The ``source`` of a headline row of ``district.csv`` (``{circle}``: the circle's name)."""


def district_table(analysis: Analysis) -> pd.DataFrame:
    """The rows of ``district.csv``: the headline first, then the district targets.

    One headline row per circle measured (:func:`carecircle.outputs.headline.headline`):
    ``rule`` is ``<circle>_share``, ``value`` the share of the district's residents counted
    (older residents where the data give them) within the circle, 0-1, and ``basis``
    ``"<within> of <residents>"``; ``target``, ``year`` and ``status`` are empty, since no
    policy sets a district share. Then the targets of :func:`carecircle.standards.check_district`;
    then, with a care map, its district totals
    (:func:`carecircle.outputs.care_tables.care_district_rows`: withheld where small or where
    they would give a withheld count away).
    """
    figures = headline(analysis).circles
    rows = pd.DataFrame(
        {
            "rule": [f"{c.circle}_share" for c in figures],
            "value": [round(c.share, 4) for c in figures],
            "target": np.nan,
            "year": pd.array([pd.NA] * len(figures), dtype="Int64"),
            "status": "",
            "basis": [f"{round(c.within, 1):g} of {round(c.residents, 1):g}" for c in figures],
            "source": [HEADLINE_SOURCE.format(circle=c.circle) for c in figures],
        }
    )
    parts = [rows, analysis.district]
    if analysis.care is not None:
        parts.append(care_district_rows(analysis.care))
    parts = [p for p in parts if not p.empty]
    if len(parts) == 1:
        return parts[0]
    return pd.concat(parts, ignore_index=True) if parts else analysis.district


def write_district(analysis: Analysis, path: str | Path) -> Path:
    """Write ``district.csv``: the headline shares, the district targets and where they stand."""
    path = Path(path)
    with atomic(path) as tmp:
        to_csv(district_table(analysis), tmp)
    return path


def compounds_table(analysis: Analysis) -> pd.DataFrame:
    """The rows of ``compounds.csv``: one per compound given, every one, in input order.

    The columns of :func:`carecircle.compounds.check_compounds` without the geometry, with
    ``lon`` and ``lat`` (WGS 84) of the compound's point, or of a point inside its polygon,
    after ``name``.
    """
    frame = analysis.compounds
    if not len(frame):
        return pd.DataFrame(columns=["id", "name", "lon", "lat"])
    points = shapely.point_on_surface(frame.to_crs(GPKG_CRS).geometry.to_numpy())
    table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    table.insert(2, "lon", np.round(shapely.get_x(points), 7))
    table.insert(3, "lat", np.round(shapely.get_y(points), 7))
    figures = ["care_room_area_m2", "care_land_area_m2", "floor_area_m2"]
    figures += [f"{r.prefix}_{part}" for r in COMPOUND_RULES for part in ("required", "actual")]
    for column in figures:
        if column in table:
            table[column] = table[column].astype(float).round(4)
    for column in ("households", "residents", "build_year"):  # counts and years: whole numbers
        if column in table:
            values = pd.to_numeric(table[column], errors="coerce")
            if (values.dropna() % 1 == 0).all():
                table[column] = values.astype("Int64")
    return table


def write_compounds(analysis: Analysis, path: str | Path) -> Path:
    """Write ``compounds.csv``: each compound with each compound rule's status and reason."""
    path = Path(path)
    with atomic(path) as tmp:
        to_csv(compounds_table(analysis), tmp)
    return path


def write_geopackage(
    analysis: Analysis,
    path: str | Path,
    *,
    crs: str | int | pyproj.CRS | None = None,
    lang: Lang = "zh",
    shapefile_safe: bool = False,
) -> Path:
    """Write ``coverage.gpkg``, in WGS 84 (EPSG:4326) unless ``crs`` says otherwise.

    Layers: ``communities``, ``facilities``, ``circles`` (per facility), ``circles_dissolved``
    (per circle, tier and minutes), ``uncovered`` (parts of communities outside their
    circles), ``compounds`` (the residential compounds checked, when given: polygons, points,
    or both in one layer of generic geometry), ``care_map`` (with a care map: the community
    polygons with their published care counts, never points) and, after siting,
    ``proposed_sites``, ``proposed_circles`` (the proposed sites' walking circles, as
    ``circles``) and ``candidates`` (every candidate considered, chosen or not, with its
    status). Each layer's metadata (``carecircle``, JSON) holds the run's parameters and
    ``output_crs``; QGIS styles are stored in ``layer_styles``.

    Parameters
    ----------
    analysis : Analysis
        The results.
    path : path
        The file to write (replaced when complete).
    crs : str, int or pyproj.CRS, optional, keyword-only
        The CRS of every layer (see :func:`output_crs`): ``"EPSG:4490"`` (CGCS2000), a
        Gauss-Kruger zone such as ``"EPSG:4545"``, a local CRS. WGS 84 when None.
    lang : {"zh", "en"}, keyword-only
        Language of the styles' legends.
    shapefile_safe : bool, keyword-only
        Give every column its short name (:func:`~carecircle.outputs.fieldnames.shapefile_names`,
        at most 10 ASCII characters) so the layers export to Shapefile unchanged, and add the
        table ``field_names`` (``layer``, ``field``, ``column``) that maps them back.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    carecircle.errors.InputError
        For a ``crs`` that is not one (:func:`output_crs`), or one the district cannot be
        projected into.

    """
    path = Path(path)
    target = output_crs(crs, option="crs")
    metadata = {key: str(value) for key, value in analysis.parameters.items()}
    metadata["output_crs"] = crs_text(target)
    metadata["output_crs_name"] = target.name
    metadata["shapefile_safe"] = str(shapefile_safe).lower()
    layers = {
        "communities": analysis.communities,
        "facilities": analysis.facilities,
        "circles": analysis.circles,
        "circles_dissolved": analysis.dissolved,
        "uncovered": analysis.uncovered,
    }
    if len(analysis.proposed):
        layers["proposed_sites"] = analysis.proposed
    if len(analysis.proposed_circles):
        layers["proposed_circles"] = analysis.proposed_circles
    if len(analysis.candidates):
        layers["candidates"] = analysis.candidates
    if len(analysis.compounds):
        layers["compounds"] = analysis.compounds
    if analysis.care is not None:
        layers["care_map"] = care_layer(analysis)
    _check_area_of_use(analysis.communities, target)
    renamed = {
        name: shapefile_names(c for c in layer.columns if c != layer.geometry.name)
        if shapefile_safe
        else {}
        for name, layer in layers.items()
    }
    with atomic(path) as tmp:
        for position, (name, layer) in enumerate(layers.items()):
            frame = _gpkg_ready(_projected(layer, target, name)).rename(columns=renamed[name])
            pyogrio.write_dataframe(
                frame,
                tmp,
                layer=name,
                driver="GPKG",
                # GeoPackage 1.2, which GDAL 2.2 and later (QGIS 3) read without a warning
                dataset_options={"VERSION": GPKG_VERSION} if position == 0 else None,
                layer_metadata={"carecircle": json.dumps(metadata, ensure_ascii=False)},
                promote_to_multi=name not in ("facilities", "proposed_sites", "candidates")
                and not (name == "compounds" and _has_points(layer)),
            )
        if shapefile_safe:
            _write_field_names(renamed, tmp)
        _add_qgis_styles(analysis, tmp, layers=list(layers), lang=lang, renamed=renamed)
    return path


def _has_points(layer: gpd.GeoDataFrame) -> bool:
    """Whether a layer holds points (a compound layer: points stay points, not multipoints)."""
    return bool((layer.geom_type == "Point").any())


def _projected(layer: gpd.GeoDataFrame, crs: pyproj.CRS, name: str) -> gpd.GeoDataFrame:
    """``layer`` in ``crs``; refused where a coordinate does not project (infinite, NaN)."""
    out = layer.to_crs(crs)
    coords = shapely.get_coordinates(np.asarray(out.geometry.values))
    if not np.isfinite(coords).all():
        msg = (
            f"crs {crs_text(crs)!r} ({crs.name}): the {name} layer cannot be projected into it "
            f"(coordinates become infinite); choose a CRS whose area covers the district"
        )
        raise InputError(msg)
    return out


def _check_area_of_use(communities: gpd.GeoDataFrame, crs: pyproj.CRS) -> None:
    """Warn when the district lies outside the area a projected CRS is meant for."""
    area = crs.area_of_use
    if area is None or not crs.is_projected or not len(communities):
        return
    west, south, east, north = communities.to_crs(GPKG_CRS).total_bounds
    if (
        west < area.west - 1
        or east > area.east + 1
        or south < area.south - 1
        or north > area.north + 1
    ):
        logger.warning(
            "output CRS %s (%s) is meant for %s; the district (%.2f..%.2f E, %.2f..%.2f N) "
            "lies outside it, where its lengths and areas are distorted",
            crs_text(crs),
            crs.name,
            area.name.rstrip("."),
            west,
            east,
            south,
            north,
        )


def _write_field_names(renamed: dict[str, dict[str, str]], path: Path) -> None:
    """Add the table mapping each layer's Shapefile-safe field names back to the columns."""
    rows = [
        (layer, field, column)
        for layer, names in renamed.items()
        for column, field in names.items()
    ]
    table = pd.DataFrame(rows, columns=["layer", "field", "column"])
    pyogrio.write_dataframe(table, path, layer=FIELD_NAMES_TABLE, driver="GPKG")


def _add_qgis_styles(
    analysis: Analysis,
    path: Path,
    *,
    layers: list[str],
    lang: Lang = "zh",
    renamed: dict[str, dict[str, str]] | None = None,
) -> None:
    """Store default QGIS styles in the GeoPackage, so layers open coloured at once.

    Besides each layer's default style, ``communities`` gets one style per circle measured,
    named ``communities:<circle>`` (not the default), which ``coverage.qgz`` uses for that
    circle's group. The styles read the fields by their names in the file (``renamed``).
    """
    labels = {c.name: c.label_zh if lang == "zh" else c.label_en for c in analysis.policy.circles}
    measured = list(analysis.circles_measured)
    styles = dict(qgis.default_styles(measured, lang=lang, circle_labels=labels))
    styles["circles_dissolved"] = styles["circles"]
    styles.update(
        qgis.siting_styles(
            [c.name for c in analysis.policy.circles], lang=lang, circle_labels=labels
        )
    )
    styles["uncovered"] = qgis.categorized_qml(
        "circle",
        [(c.name, labels[c.name], "#67001f") for c in analysis.policy.circles],
        geometry="polygon",
        fill_opacity=0.45,
    )
    shape = _compound_shape(analysis.compounds)
    if shape:  # one kind of geometry: QGIS styles a layer of one kind
        words = COMPOUND_STATUS_LABELS[lang]
        styles["compounds"] = qgis.categorized_qml(
            "status",
            [(status, words[status], COMPOUND_QGIS_COLOURS[status]) for status in STATUSES],
            geometry=shape,
        )
    fields = renamed or {}
    if analysis.care is not None:
        people = analysis.care.table["people"].to_numpy(dtype=float, na_value=np.nan)
        field = fields.get("care_map", {}).get("people", "people")
        styles["care_map"] = qgis.care_style(people, lang=lang, field=field)
    kept = {
        name: qgis.rename_fields(qml, fields.get(name, {}))
        for name, qml in styles.items()
        if name in layers
    }
    qgis.add_styles(path, kept)
    for circle in measured:
        qml = qgis.default_styles([circle], lang=lang, circle_labels=labels)["communities"]
        qgis.add_styles(
            path,
            {"communities": qgis.rename_fields(qml, fields.get("communities", {}))},
            default=False,
            style_name=f"communities:{circle}",
        )


COMPOUND_QGIS_COLOURS = {
    "needs_centre": "#7b3294",
    "below": "#e31a1c",
    "unknown": "#969696",
    "meets": "#1a9850",
    "not_applicable": "#d9d9d9",
}
"""The compounds' colours in QGIS, by status: the HTML map's."""


def _compound_shape(compounds: gpd.GeoDataFrame) -> Literal["point", "polygon"] | None:
    """``point`` or ``polygon`` for a compound layer of one kind; None when mixed or empty."""
    if not len(compounds):
        return None
    points = (compounds.geom_type == "Point").to_numpy()
    if points.all():
        return "point"
    return None if points.any() else "polygon"


def _gpkg_ready(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Columns GDAL can store: objects as text, nullable booleans as 0/1.

    GDAL ends a text at a NUL character, silently; a NUL is stored as ``�`` instead, the way
    the workbooks show the characters they cannot hold.
    """
    out = frame.copy()
    for column in out.columns:
        if column == out.geometry.name:
            continue
        if str(out[column].dtype) == "boolean":
            out[column] = out[column].astype("Int8")
        elif out[column].dtype == object or str(out[column].dtype).startswith("str"):
            out[column] = out[column].map(
                lambda v: None if _missing(v) else str(v).replace("\x00", REPLACEMENT)
            )
    return out


def _missing(value: object) -> bool:
    """True for None, NaN and pandas' NA (whose truth value is ambiguous)."""
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)

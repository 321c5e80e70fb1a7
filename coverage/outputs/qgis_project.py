"""``coverage.qgz``: a QGIS project beside ``coverage.gpkg`` that opens on a tidy map.

One group per circle measured, the first shown and the others hidden, each holding that
circle's facilities (by tier), walking circles, the parts of communities outside them and the
communities coloured by their status in it; after siting, a group with the proposed sites,
their circles and (hidden) the candidates; with a care map, a hidden group with the care map
(communities filled by their people needing care). Layer and group names are in the run's language;
the layers draw with the styles stored in the GeoPackage's ``layer_styles`` table
(:mod:`carecircle.outputs.qgis`), copied into the project, which QGIS requires. The project's
CRS is the GeoPackage's and its view the communities' extent.

The GeoPackage is named by a path relative to the project (``./coverage.gpkg``), so the
folder can be moved or shared whole. A ``.qgz`` is a zip archive holding the project's XML
(``coverage.qgs``); it is written here with the standard library, no PyQGIS needed.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyogrio
import pyproj

from ..terms import Lang
from ._files import atomic
from .export import FIELD_NAMES_TABLE
from .headline import place_name
from .qgis import _DOCTYPE, QML_VERSION, STYLES_TABLE

if TYPE_CHECKING:
    from ..pipeline import Analysis

#: How much room the view leaves around the communities, as a share of their extent.
VIEW_MARGIN = 0.05

_WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "facilities": "设施",
        "circles": "步行圈",
        "uncovered": "圈外区域",
        "communities": "社区覆盖状况",
        "siting": "选址",
        "proposed_sites": "建议选址",
        "proposed_circles": "建议选址的步行圈",
        "candidates": "候选点",
        "compounds": "小区（配建规则）",
        "care_map": "关爱地图（需关爱老年人）",
        "minutes": "分钟",
        "title": "{place}：步行服务圈覆盖",
    },
    "en": {
        "facilities": "facilities",
        "circles": "walking circles",
        "uncovered": "outside the circles",
        "communities": "communities by coverage",
        "siting": "siting",
        "proposed_sites": "proposed sites",
        "proposed_circles": "proposed sites' circles",
        "candidates": "candidate sites",
        "compounds": "compounds (provision rules)",
        "care_map": "care map (older residents needing care)",
        "minutes": "min",
        "title": "{place}: walking coverage",
    },
}
#: Layers of each circle's group, top (drawn last) first.
CIRCLE_LAYERS = ("facilities", "circles", "uncovered", "communities")
#: Layers of the siting group, and whether each is shown.
SITING_LAYERS = {"proposed_sites": True, "proposed_circles": True, "candidates": False}


@dataclass(frozen=True)
class ProjectLayer:
    """One layer of the project: a GeoPackage layer, perhaps filtered, with its style.

    Attributes
    ----------
    id : str
        The layer's id in the project (ASCII, unique).
    name : str
        The name shown in the layers panel, in the run's language.
    table : str
        The GeoPackage layer.
    subset : str
        An OGR SQL filter (``"circle" = 'eldercare'``), or ``""``.
    qml : str
        The style (QML) it draws with.
    shown : bool
        Whether it is ticked in the layers panel.

    """

    id: str
    name: str
    table: str
    subset: str
    qml: str
    shown: bool


def write_project(
    analysis: Analysis,
    gpkg_path: str | Path,
    path: str | Path,
    *,
    lang: Lang = "zh",
) -> Path:
    """Write ``coverage.qgz``, a QGIS project of the GeoPackage ``gpkg_path``.

    Parameters
    ----------
    analysis : Analysis
        The results the GeoPackage was written from (its circles and place name).
    gpkg_path : path
        ``coverage.gpkg`` as :func:`carecircle.outputs.write_geopackage` wrote it; the project
        names it by its path relative to ``path``'s folder.
    path : path
        The project to write (``.qgz``; replaced when complete).
    lang : {"zh", "en"}, keyword-only
        Language of the layer and group names (the legends are the GeoPackage's styles').

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        For an unknown language, or an analysis that measured no circle (its GeoPackage has
        no circles to show).

    """
    if lang not in _WORDS:
        msg = f"unknown language {lang!r}; expected 'zh' or 'en'"
        raise ValueError(msg)
    if not analysis.circles_measured:
        msg = "no circles measured: there is no GeoPackage of circles to make a project of"
        raise ValueError(msg)
    gpkg = Path(gpkg_path)
    path = Path(path)
    source = _relative(gpkg, path.parent)
    words = _WORDS[lang]
    tables = {str(name): str(kind) for name, kind in pyogrio.list_layers(gpkg) if kind}
    info = pyogrio.read_info(gpkg, layer="communities", force_total_bounds=True)
    crs = pyproj.CRS.from_user_input(info["crs"])
    styles, fields = _styles_and_fields(gpkg)

    groups: list[tuple[str, bool, list[ProjectLayer]]] = []
    if "proposed_sites" in tables:
        siting = [
            ProjectLayer(
                id=name,
                name=words[name],
                table=name,
                subset="",
                qml=styles[(name, name)],
                shown=shown,
            )
            for name, shown in SITING_LAYERS.items()
            if name in tables
        ]
        groups.append((words["siting"], True, siting))
    if ("compounds", "compounds") in styles:  # a styled layer: of points or of polygons
        compounds = ProjectLayer(
            id="compounds",
            name=words["compounds"],
            table="compounds",
            subset="",
            qml=styles[("compounds", "compounds")],
            shown=False,
        )
        groups.append((words["compounds"], False, [compounds]))
    if ("care_map", "care_map") in styles:  # with a care map: hidden, as on the HTML map
        care = ProjectLayer(
            id="care_map",
            name=words["care_map"],
            table="care_map",
            subset="",
            qml=styles[("care_map", "care_map")],
            shown=False,
        )
        groups.append((words["care_map"], False, [care]))
    for number, name in enumerate(analysis.circles_measured):
        circle = analysis.policy.circle(name)
        label = circle.label_zh if lang == "zh" else circle.label_en
        limits = "/".join(f"{m:g}" for m in circle.limits)
        title = (
            f"{label}（{limits} {words['minutes']}）"
            if lang == "zh"
            else f"{label} ({limits} {words['minutes']})"
        )
        filters = {
            "facilities": _in(fields["facilities"].get("tier", "tier"), circle.tiers),
            "circles": _in(fields["circles"].get("circle", "circle"), [name]),
            "uncovered": _in(fields["uncovered"].get("circle", "circle"), [name]),
            "communities": "",
        }
        layers = [
            ProjectLayer(
                id=f"{table}_{name}",
                name=f"{words[table]}（{label}）" if lang == "zh" else f"{words[table]} ({label})",
                table=table,
                subset=filters[table],
                qml=styles.get((table, f"{table}:{name}"), styles[(table, table)]),
                shown=True,
            )
            for table in CIRCLE_LAYERS
            if table in tables
        ]
        groups.append((title, number == 0, layers))

    place, _ = place_name(analysis)
    root = _project(
        groups,
        source=source,
        kinds=tables,
        crs=crs,
        bounds=tuple(float(v) for v in info["total_bounds"]),
        title=words["title"].format(place=place),
    )
    ET.indent(root, space=" ")
    text = f"{_DOCTYPE}\n{ET.tostring(root, encoding='unicode')}\n"
    with (
        atomic(path) as tmp,
        zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        archive.writestr(f"{path.stem}.qgs", text.encode("utf-8"))
    return path


def _relative(gpkg: Path, folder: Path) -> str:
    """``./coverage.gpkg``: the GeoPackage's path from the project's folder, with ``/``."""
    relative = Path(os.path.relpath(gpkg.absolute(), folder.absolute())).as_posix()
    return relative if relative.startswith("../") else f"./{relative}"


def _in(field: str, values: Sequence[str]) -> str:
    """An OGR SQL filter: ``"field" = 'a'`` or ``"field" IN ('a', 'b')``."""
    quoted = [f"'{value.replace(chr(39), chr(39) * 2)}'" for value in values]
    column = f'"{field}"'
    if len(quoted) == 1:
        return f"{column} = {quoted[0]}"
    return f"{column} IN ({', '.join(quoted)})"


def _styles_and_fields(
    gpkg: Path,
) -> tuple[dict[tuple[str, str], str], dict[str, dict[str, str]]]:
    """The GeoPackage's styles, by (layer, style name), and its renamed fields, by layer.

    A layer's default style is also found under (layer, layer). The fields map a column to
    its name in the file (empty unless it was written Shapefile-safe).
    """
    with contextlib.closing(sqlite3.connect(gpkg)) as con:
        rows = con.execute(
            "SELECT f_table_name, styleName, styleQML, useAsDefault "
            f'FROM "{STYLES_TABLE}" ORDER BY id'
        ).fetchall()
        has_names = con.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (FIELD_NAMES_TABLE,)
        ).fetchone()
        names = (
            con.execute(f'SELECT layer, "column", field FROM "{FIELD_NAMES_TABLE}"').fetchall()
            if has_names
            else []
        )
    styles: dict[tuple[str, str], str] = {}
    for table, name, qml, default in rows:
        styles[(str(table), str(name))] = str(qml)
        if default:
            styles[(str(table), str(table))] = str(qml)
    fields: dict[str, dict[str, str]] = {
        table: {} for table in ("facilities", "circles", "uncovered", "communities")
    }
    for table, column, field in names:
        fields.setdefault(str(table), {})[str(column)] = str(field)
    return styles, fields


def _project(
    groups: Sequence[tuple[str, bool, Sequence[ProjectLayer]]],
    *,
    source: str,
    kinds: Mapping[str, str],
    crs: pyproj.CRS,
    bounds: tuple[float, ...],
    title: str,
) -> ET.Element:
    """The project's XML: CRS, layer tree, view and layers."""
    root = ET.Element("qgis", projectname=title, version=QML_VERSION)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "projectCrs").append(_spatialrefsys(crs))

    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    layers = [layer for _, _, members in groups for layer in members]
    for name, shown, members in groups:
        group = ET.SubElement(
            tree, "layer-tree-group", name=name, checked=_checked(shown), expanded=str(int(shown))
        )
        ET.SubElement(group, "customproperties")
        for layer in members:
            node = ET.SubElement(
                group,
                "layer-tree-layer",
                id=layer.id,
                name=layer.name,
                source=_datasource(source, layer),
                providerKey="ogr",
                checked=_checked(layer.shown),
                expanded="1",
            )
            ET.SubElement(node, "customproperties")
    canvas_order = ET.SubElement(root, "layer-tree-canvas")
    ET.SubElement(canvas_order, "custom-order", enabled="0")

    xmin, ymin, xmax, ymax = _view(bounds)
    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "degrees" if crs.is_geographic else "meters"
    canvas.append(_extent("extent", xmin, ymin, xmax, ymax))
    ET.SubElement(canvas, "rotation").text = "0"
    ET.SubElement(canvas, "destinationsrs").append(_spatialrefsys(crs))
    ET.SubElement(canvas, "rendermaptile").text = "0"
    view = ET.SubElement(root, "ProjectViewSettings", UseProjectScales="0", rotation="0")
    default_view = ET.SubElement(
        view,
        "DefaultViewExtent",
        xmin=repr(xmin),
        ymin=repr(ymin),
        xmax=repr(xmax),
        ymax=repr(ymax),
    )
    default_view.append(_spatialrefsys(crs))

    project_layers = ET.SubElement(root, "projectlayers")
    for layer in layers:
        project_layers.append(_maplayer(layer, source=source, kind=kinds[layer.table], crs=crs))
    order = ET.SubElement(root, "layerorder")
    for layer in layers:
        ET.SubElement(order, "layer", id=layer.id)
    properties = ET.SubElement(root, "properties")
    paths = ET.SubElement(properties, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    return root


def _maplayer(layer: ProjectLayer, *, source: str, kind: str, crs: pyproj.CRS) -> ET.Element:
    """One ``<maplayer>``: where the layer is, its CRS and its style's elements."""
    style = ET.fromstring(layer.qml)
    geometry = "Point" if "Point" in kind else "Polygon"
    element = ET.Element(
        "maplayer",
        type="vector",
        geometry=geometry,
        wkbType=kind,
        hasScaleBasedVisibilityFlag="0",
        minScale="100000000",
        maxScale="0",
        readOnly="0",
        labelsEnabled=style.get("labelsEnabled", "0"),
        styleCategories="AllStyleCategories",
    )
    ET.SubElement(element, "id").text = layer.id
    ET.SubElement(element, "datasource").text = _datasource(source, layer)
    ET.SubElement(element, "layername").text = layer.name
    ET.SubElement(element, "srs").append(_spatialrefsys(crs))
    ET.SubElement(element, "provider", encoding="UTF-8").text = "ogr"
    for child in style:
        element.append(child)
    return element


def _datasource(source: str, layer: ProjectLayer) -> str:
    """An OGR data source: ``./coverage.gpkg|layername=circles|subset=...``."""
    text = f"{source}|layername={layer.table}"
    return f"{text}|subset={layer.subset}" if layer.subset else text


def _checked(shown: bool) -> str:
    return "Qt::Checked" if shown else "Qt::Unchecked"


def _view(bounds: tuple[float, ...]) -> tuple[float, float, float, float]:
    """The communities' extent with a margin (a point's extent grown to a small square)."""
    xmin, ymin, xmax, ymax = bounds
    if not np.isfinite(bounds).all():
        return (-180.0, -90.0, 180.0, 90.0)
    pad = max(xmax - xmin, ymax - ymin) * VIEW_MARGIN or 1e-3
    return (xmin - pad, ymin - pad, xmax + pad, ymax + pad)


def _extent(tag: str, xmin: float, ymin: float, xmax: float, ymax: float) -> ET.Element:
    element = ET.Element(tag)
    for key, value in (("xmin", xmin), ("ymin", ymin), ("xmax", xmax), ("ymax", ymax)):
        ET.SubElement(element, key).text = repr(value)
    return element


def _spatialrefsys(crs: pyproj.CRS) -> ET.Element:
    """A CRS as QGIS stores it: its WKT (which QGIS reads first), PROJ text and code."""
    element = ET.Element("spatialrefsys", nativeFormat="Wkt")
    ET.SubElement(element, "wkt").text = crs.to_wkt("WKT2_2019")
    with warnings.catch_warnings():  # "you will likely lose information": it is not used
        warnings.simplefilter("ignore", UserWarning)
        proj4 = crs.to_proj4() or ""
    ET.SubElement(element, "proj4").text = proj4
    code = crs.to_authority(min_confidence=90)
    ET.SubElement(element, "srid").text = code[1] if code and code[1].isdigit() else "0"
    ET.SubElement(element, "authid").text = ":".join(code) if code else ""
    ET.SubElement(element, "description").text = crs.name
    acronym = next((p[6:] for p in proj4.split() if p.startswith("+proj=")), "")
    ET.SubElement(element, "projectionacronym").text = acronym
    ellipsoid = crs.ellipsoid.to_json_dict().get("id", {}) if crs.ellipsoid is not None else {}
    ET.SubElement(element, "ellipsoidacronym").text = (
        f"{ellipsoid['authority']}:{ellipsoid['code']}" if ellipsoid else ""
    )
    ET.SubElement(element, "geographicflag").text = "true" if crs.is_geographic else "false"
    return element

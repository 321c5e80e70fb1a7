"""Checking what a district supplies: communities, facilities, candidates, compounds, roads.

The readers take a file (GeoPackage, GeoJSON, Shapefile, or a CSV of points) and return a
GeoDataFrame in EPSG:4326 with the fixed column scheme of :data:`COMMUNITY_COLUMNS`,
:data:`FACILITY_COLUMNS` or :data:`COMPOUND_COLUMNS` (residential compounds, 小区),
converting GCJ-02 or BD-09 coordinates when asked. Anything wrong raises
:class:`~carecircle.errors.InputError` with one line naming the file, row, column and value.
:func:`communities_from_frame` and :func:`facilities_from_frame` check a GeoDataFrame built in
Python the same way, naming the frame where a file's messages name the file.
:func:`read_roads` reads a road layer (a bureau's centre lines) as a
:class:`~carecircle.network.WalkNetwork`, and :func:`read_network` whatever ``--network``
names: an OpenStreetMap file, a road layer, or one of each. :func:`read_care` reads the care
map's table (关爱地图) as counts per community.
"""

from .care import CARE_ALIASES as CARE_ALIASES
from .care import CARE_FIELDS as CARE_FIELDS
from .care import RECORD_ALIASES as RECORD_ALIASES
from .care import CareTable as CareTable
from .care import read_care as read_care
from .compounds import COMPOUND_COLUMNS as COMPOUND_COLUMNS
from .compounds import read_compounds as read_compounds
from .frames import communities_from_frame as communities_from_frame
from .frames import facilities_from_frame as facilities_from_frame
from .readers import CANDIDATE_COLUMNS as CANDIDATE_COLUMNS
from .readers import COMMUNITY_ALIASES as COMMUNITY_ALIASES
from .readers import COMMUNITY_COLUMNS as COMMUNITY_COLUMNS
from .readers import COMMUNITY_OPTIONAL as COMMUNITY_OPTIONAL
from .readers import FACILITY_ALIASES as FACILITY_ALIASES
from .readers import FACILITY_COLUMNS as FACILITY_COLUMNS
from .readers import FACILITY_OPTIONAL as FACILITY_OPTIONAL
from .readers import LAYER_SUFFIXES as LAYER_SUFFIXES
from .readers import read_candidates as read_candidates
from .readers import read_communities as read_communities
from .readers import read_facilities as read_facilities
from .roads import NETWORK_ALIASES as NETWORK_ALIASES
from .roads import ROAD_CLASSES as ROAD_CLASSES
from .roads import ROAD_SUFFIXES as ROAD_SUFFIXES
from .roads import RoadOptions as RoadOptions
from .roads import read_network as read_network
from .roads import read_roads as read_roads

__all__ = [
    "CANDIDATE_COLUMNS",
    "CARE_ALIASES",
    "CARE_FIELDS",
    "COMMUNITY_ALIASES",
    "COMMUNITY_COLUMNS",
    "COMMUNITY_OPTIONAL",
    "COMPOUND_COLUMNS",
    "FACILITY_ALIASES",
    "FACILITY_COLUMNS",
    "FACILITY_OPTIONAL",
    "LAYER_SUFFIXES",
    "NETWORK_ALIASES",
    "RECORD_ALIASES",
    "ROAD_CLASSES",
    "ROAD_SUFFIXES",
    "CareTable",
    "RoadOptions",
    "communities_from_frame",
    "facilities_from_frame",
    "read_candidates",
    "read_care",
    "read_communities",
    "read_compounds",
    "read_facilities",
    "read_network",
    "read_roads",
]

"""Reading and checking what a district supplies: community boundaries, facilities, candidates.

The readers take a file (GeoPackage, GeoJSON, Shapefile, or a CSV of points) and return a
GeoDataFrame in EPSG:4326 with the fixed column scheme of :data:`COMMUNITY_COLUMNS` or
:data:`FACILITY_COLUMNS`, converting GCJ-02 or BD-09 coordinates when asked. Anything wrong
raises :class:`~carecircle.errors.InputError` with one line naming the file, row, column and
value. :func:`communities_from_frame` and :func:`facilities_from_frame` check a GeoDataFrame
built in Python the same way, naming the frame where a file's messages name the file.
"""

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

__all__ = [
    "CANDIDATE_COLUMNS",
    "COMMUNITY_ALIASES",
    "COMMUNITY_COLUMNS",
    "COMMUNITY_OPTIONAL",
    "FACILITY_ALIASES",
    "FACILITY_COLUMNS",
    "FACILITY_OPTIONAL",
    "LAYER_SUFFIXES",
    "communities_from_frame",
    "facilities_from_frame",
    "read_candidates",
    "read_communities",
    "read_facilities",
]

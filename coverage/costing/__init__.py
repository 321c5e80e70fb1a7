"""What a profile's money rules give a set of facilities: subsidies and awards, by year and town.

Computing only (pandas and numpy; no geopandas, no folium): :func:`cost` returns a
:class:`Costing`; :func:`carecircle.outputs.write_costing` and
:func:`carecircle.outputs.format_costing` write and print it. The rules themselves are in
:mod:`carecircle.costing.rules`, the facility rows they read in :mod:`carecircle.costing.rows`,
the tables in :mod:`carecircle.costing.tables` and the constants in
:mod:`carecircle.costing.schema`.
"""

from .costs import Costing as Costing
from .costs import cost as cost
from .schema import FACILITY_COLUMNS as FACILITY_COLUMNS
from .schema import HEADERS_EN as HEADERS_EN
from .schema import HEADERS_ZH as HEADERS_ZH
from .schema import MONEY_TABLES as MONEY_TABLES
from .schema import OPERATING_FROM as OPERATING_FROM
from .schema import OPTIONAL_ALIASES as OPTIONAL_ALIASES
from .schema import PER_TOWNSHIP_COLUMNS as PER_TOWNSHIP_COLUMNS
from .schema import PER_YEAR_COLUMNS as PER_YEAR_COLUMNS
from .schema import RESIDENT_FIELDS as RESIDENT_FIELDS
from .schema import SHEETS as SHEETS
from .schema import SOCIAL_CAPITAL_TIERS as SOCIAL_CAPITAL_TIERS
from .schema import STATUS_WORDS as STATUS_WORDS
from .schema import STATUSES as STATUSES
from .schema import URBAN_CENTRE_TIERS as URBAN_CENTRE_TIERS

__all__ = [
    "FACILITY_COLUMNS",
    "HEADERS_EN",
    "HEADERS_ZH",
    "MONEY_TABLES",
    "OPERATING_FROM",
    "OPTIONAL_ALIASES",
    "PER_TOWNSHIP_COLUMNS",
    "PER_YEAR_COLUMNS",
    "RESIDENT_FIELDS",
    "SHEETS",
    "SOCIAL_CAPITAL_TIERS",
    "STATUSES",
    "STATUS_WORDS",
    "URBAN_CENTRE_TIERS",
    "Costing",
    "cost",
]

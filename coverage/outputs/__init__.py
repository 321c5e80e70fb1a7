"""Every file carecircle writes and every table it prints.

:func:`write_all` writes an analysis's tables, GeoPackage, workbook and overview into one
folder (the GeoPackage in the CRS asked for, :func:`output_crs`, with its QGIS project,
:func:`write_qgis_project`, and Shapefile-safe field names on request, :func:`shapefile_names`);
:func:`build_map` returns the HTML map as a ``folium.Map`` (saving it is the caller's
job). The siting, costing and plan-audit results have their writers and terminal tables here
too (:func:`write_siting`, :func:`write_costing`, :func:`format_costing`,
:func:`write_plan_costing`, :func:`format_plan_costing`, :func:`write_plan_audit`,
:func:`format_plan_audit`). This subpackage imports folium,
matplotlib and openpyxl; ``import carecircle`` loads it only when it is first used.
"""

from .costing_tables import format_plan as format_plan_costing
from .costing_tables import format_table as format_costing
from .costing_tables import write as write_costing
from .costing_tables import write_plan as write_plan_costing
from .export import output_crs as output_crs
from .export import summary_table as summary_table
from .export import write_geopackage as write_geopackage
from .fieldnames import shapefile_names as shapefile_names
from .maps import BASEMAPS as BASEMAPS
from .maps import build as build_map
from .maps import walking_note as walking_note
from .overview import overview_png as overview_png
from .plan_tables import format_table as format_plan_audit
from .plan_tables import write as write_plan_audit
from .qgis_project import write_project as write_qgis_project
from .siting_tables import write as write_siting
from .workbook import workbook as write_workbook
from .write import write_all as write_all

__all__ = [
    "BASEMAPS",
    "build_map",
    "format_costing",
    "format_plan_audit",
    "format_plan_costing",
    "output_crs",
    "overview_png",
    "shapefile_names",
    "summary_table",
    "walking_note",
    "write_all",
    "write_costing",
    "write_geopackage",
    "write_plan_audit",
    "write_plan_costing",
    "write_qgis_project",
    "write_siting",
    "write_workbook",
]

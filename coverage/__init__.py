"""carecircle: can older residents walk to care in the time the policy promises.

The package folder is ``coverage/`` in the repository; it is installed and imported as
``carecircle``. Its layout follows the pipeline, each layer importing only from those below:

- ``inputs/``: read and check the district's files (or frames a user built);
- ``network``, ``travel``, ``demand``, ``terrain``, ``steps``: the walking graph, compiled
  shortest paths, where residents are, slopes and steps;
- ``policy``, ``terms``, ``standards``, ``plan``, ``circles``, ``isochrones``: the rules, the
  shared words, the checks, shares and circle polygons;
- ``costing/``: what the money rules give (computing only);
- ``pipeline``: the whole analysis, :func:`analyze` → :class:`~carecircle.pipeline.Analysis`;
- ``siting/``: where to build next;
- ``outputs/``: every file written and table printed;
- ``cli``: the ``carecircle`` command.

``import carecircle`` loads only the errors, the shared words and the version; every other name
here (``analyze``, ``read_communities``, ``siting``, ``outputs``, …) loads its module when first
used, so a costing or a plan audit never loads geopandas or folium.

Examples
--------
>>> import carecircle as cc
>>> cc.InputError.__mro__[1].__name__
'CarecircleError'
>>> sorted(name for name in ("siting", "outputs", "analyze") if name in dir(cc))
['analyze', 'outputs', 'siting']

"""

from __future__ import annotations

import importlib
from typing import Any

from . import terms as terms
from ._version import __version__ as __version__
from .errors import CarecircleError as CarecircleError
from .errors import InputError as InputError
from .errors import MissingColumnError as MissingColumnError
from .errors import NetworkError as NetworkError
from .errors import PolicyError as PolicyError

_MODULES = (
    "care",
    "cli",
    "compounds",
    "coords",
    "costing",
    "demand",
    "inputs",
    "isochrones",
    "network",
    "outputs",
    "pipeline",
    "plan",
    "policy",
    "siting",
    "standards",
    "steps",
    "terrain",
    "travel",
)
_NAMES = {
    "analyze": "pipeline",
    "prepare": "pipeline",
    "run": "pipeline",
    "Analysis": "pipeline",
    "Prepared": "pipeline",
    "read_communities": "inputs",
    "read_facilities": "inputs",
    "read_candidates": "inputs",
    "read_compounds": "inputs",
    "read_care": "inputs",
    "communities_from_frame": "inputs",
    "facilities_from_frame": "inputs",
    "load_policy": "policy",
    "Policy": "policy",
    "WalkNetwork": "network",
}
_ALIASES = {"load_policy": "load"}

__all__ = [
    "CarecircleError",
    "InputError",
    "MissingColumnError",
    "NetworkError",
    "PolicyError",
    "__version__",
    "terms",
    *_MODULES,
    *_NAMES,
]


def __getattr__(name: str) -> Any:
    """Load a subpackage, a module or one of the face's names when it is first used."""
    if name in _MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _NAMES:
        module = importlib.import_module(f".{_NAMES[name]}", __name__)
        value = getattr(module, _ALIASES.get(name, name))
        globals()[name] = value
        return value
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_MODULES) | set(_NAMES))

"""carecircle: can older residents walk to care in the time the policy promises.

The package folder is ``coverage/`` in the repository; it is installed and imported as
``carecircle``. Modules follow the pipeline: ``inputs`` (read and check user files),
``coords`` (GCJ-02 / BD-09), ``network`` (walking graph), ``travel`` (compiled shortest paths),
``demand`` (population placement), ``circles`` (shares and statuses), ``isochrones``
(circle polygons), ``policy`` (profiles), ``pipeline`` (the whole job), ``export`` and ``maps``
(outputs), ``cli`` (the ``carecircle`` command).
"""

from . import _errors as _errors
from ._version import __version__ as __version__

__all__ = ["__version__"]

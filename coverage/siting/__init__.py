"""Where to build next: candidate sites, covering models on arrays, and the proposal.

:func:`propose` takes an :class:`~carecircle.pipeline.Analysis` (or the prepared district),
candidate sites (given, or generated on the network) and one siting question, and returns a
:class:`Proposal`; :func:`phase` spreads it over years and :func:`attach` adds it to the
analysis for the map and the GeoPackage. The array models (:func:`maximal_covering`,
:func:`budgeted_covering`, :func:`set_covering`, :func:`capacitated_covering`,
:func:`greedy_maximal_covering`) work on a sparse coverage matrix
(:func:`~carecircle.siting.candidates.coverage_matrix`) and return a :class:`Solution`, solved
exactly with HiGHS (the private ``_highs``, ``_solve``, ``_towns``, ``_years``, ``_reduction``,
``_set_cover`` and ``_capacity`` modules) and checked against their own bound.
"""

from ._outcome import GREEDY as GREEDY
from ._outcome import HEURISTIC as HEURISTIC
from ._outcome import MILP as MILP
from ._outcome import OPTIMAL as OPTIMAL
from ._outcome import TIME_LIMIT as TIME_LIMIT
from .candidates import coverage_matrix as coverage_matrix
from .candidates import generate as generate
from .models import DEFAULT_MAX_VARIABLES as DEFAULT_MAX_VARIABLES
from .models import Solution as Solution
from .models import budgeted_covering as budgeted_covering
from .models import capacitated_covering as capacitated_covering
from .models import greedy_maximal_covering as greedy_maximal_covering
from .models import maximal_covering as maximal_covering
from .models import set_covering as set_covering
from .sites import MODES as MODES
from .sites import Proposal as Proposal
from .sites import attach as attach
from .sites import check_phasing as check_phasing
from .sites import check_question as check_question
from .sites import phase as phase
from .sites import propose as propose

__all__ = [
    "DEFAULT_MAX_VARIABLES",
    "GREEDY",
    "HEURISTIC",
    "MILP",
    "MODES",
    "OPTIMAL",
    "TIME_LIMIT",
    "Proposal",
    "Solution",
    "attach",
    "budgeted_covering",
    "capacitated_covering",
    "check_phasing",
    "check_question",
    "coverage_matrix",
    "generate",
    "greedy_maximal_covering",
    "maximal_covering",
    "phase",
    "propose",
    "set_covering",
]

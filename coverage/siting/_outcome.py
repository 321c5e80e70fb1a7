"""What the siting searches report: the statuses and methods, and one search's outcome.

The status and method strings are public through :mod:`carecircle.siting`, which imports them from
here so that the private modules solving the models (:mod:`carecircle.siting._solve`,
:mod:`carecircle.siting._towns`, :mod:`carecircle.siting._set_cover`) can use them without importing
it. :class:`Outcome` is what a search on a reduced model returns; :data:`PROOF_TOL` is how close
objective and bound must be to prove a solution optimal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

OPTIMAL = "optimal"
"""Status: the objective is proved optimal (within ``mip_rel_gap``, exactly by default)."""

TIME_LIMIT = "time_limit"
"""Status: not proved optimal, the time limit having stopped the search first (or a solver's
claim of optimality falling short of its bound); ``gap`` says how far off."""

HEURISTIC = "heuristic"
"""Status: greedy without a MILP (asked for, or the model exceeds ``max_variables``)."""

MILP = "milp"
"""Method: the sites come from the exact search (branch-and-bound on HiGHS)."""

GREEDY = "greedy"
"""Method: the sites come from the greedy heuristic."""

PROOF_TOL = 1e-6
"""Relative difference between objective and bound taken as proof of optimality (the LP bound
is loosened by 1e-7 for solver tolerances)."""


@dataclass(frozen=True)
class Outcome:
    """Sites (positions among a programme's binaries), the best bound, status and method."""

    picked: np.ndarray
    bound: float
    status: str
    method: str
    free: np.ndarray | None = None
    """Set when the search stopped for a restart: the binaries left free (see ``_Run.free``)."""


@dataclass(frozen=True)
class Preference:
    """How many chosen sites are preferred, and what was proved about it.

    Attributes
    ----------
    count : int
        Chosen sites that are preferred (beside a health centre).
    bound : int
        The most any site set as good on the first objective (and with no more sites) can have.
    status : str
        ``"optimal"`` when ``count`` meets ``bound`` (proved), ``"time_limit"`` otherwise.
    solved : bool
        Whether a second model was solved (False when the first solution already meets the
        bound: no preferred candidate, or every chosen site preferred).
    runtime_s : float
        Wall-clock seconds spent on the second model.

    """

    count: int
    bound: int
    status: str
    solved: bool
    runtime_s: float

"""HiGHS for the siting models: MILPs, LP relaxations, reduced-cost fixing, branch-and-bound.

:func:`solve_highs` solves a MILP (through ``highspy`` when installed, which takes a MIP start,
otherwise :func:`scipy.optimize.milp`) and checks the solution returned against the model and
the objective reported; solvers are silent from their construction on. :func:`relaxation`
solves an LP relaxation by interior point and keeps the solver, warm, for
:func:`branch_and_bound`: a branch-and-bound over the binaries of a covering programme whose
nodes are re-solved by dual simplex from their parent's basis, with reduced-cost fixing at
every node and branching on demand patterns by pseudo-costs.
On covering programmes it gets closer to the optimum in the same time than HiGHS's own MIP
solver, whose root cut rounds on these models cost seconds each and move the bound little (the
benchmark is in the README). :func:`with_row_bound` re-solves an LP with its count moved, for
the search by parts in :mod:`carecircle.siting._towns`.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, linprog, milp

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Run:
    """What one HiGHS call gave, in the model's own sense (maximised or minimised)."""

    x: np.ndarray | None
    value: float | None
    bound: float | None
    optimal: bool
    timed_out: bool
    infeasible: bool = False
    free: np.ndarray | None = None
    """Set when a branch-and-bound stopped to be restarted on a smaller model: the binaries
    the incumbent's reduced-cost fixing leaves free."""


def _highspy() -> Any | None:
    """The ``highspy`` module when installed (it takes a MIP start and IPM at the root)."""
    try:
        import highspy
    except ImportError:  # pragma: no cover - scipy's bundled HiGHS is used instead
        return None
    return highspy


_IPM_ROOT_NONZEROS = 100_000
"""From this many matrix entries on, HiGHS solves the LPs of a MIP with continuous variables
(maximal covering's ``z``) by interior point: the root LP of a 20,000 × 2,000 model takes
seconds that way, half a minute by dual simplex. Pure set covering keeps dual simplex, which
its heuristics need."""


def _stacked(
    constraints: list[LinearConstraint], n: int
) -> tuple[sp.csc_array, np.ndarray, np.ndarray]:
    """The constraints as one CSC matrix with row bounds (infinite where open)."""
    if not constraints:
        return sp.csc_array((0, n)), np.zeros(0), np.zeros(0)
    blocks, lower, upper = [], [], []
    for constraint in constraints:
        matrix = sp.csr_array(constraint.A)
        rows = matrix.shape[0]
        blocks.append(matrix)
        lower.append(np.broadcast_to(np.asarray(constraint.lb, dtype=np.float64), (rows,)))
        upper.append(np.broadcast_to(np.asarray(constraint.ub, dtype=np.float64), (rows,)))
    matrix = sp.csc_array(sp.vstack(blocks, format="csc"))
    matrix.sort_indices()
    return matrix, np.concatenate(lower), np.concatenate(upper)


def _quiet_solver(highspy: Any) -> Any:
    """A HiGHS solver from ``highspy`` that prints nothing, from its construction on.

    ``highspy.Highs()`` hooks its Python callbacks in its constructor, and from highspy 1.16
    on that prints HiGHS's banner on stdout before :meth:`silent` can be called. The compiled
    class beneath it, which has every method used here (the wrapper adds callbacks and
    conveniences), takes ``output_flag`` off first.
    """
    core = getattr(getattr(highspy, "_core", None), "_Highs", None)
    solver = highspy.Highs() if core is None else core()
    solver.setOptionValue("output_flag", False)
    return solver


def _highspy_solver(
    highspy: Any,
    c: np.ndarray,
    rows: tuple[sp.csc_array, np.ndarray, np.ndarray],
    lower: np.ndarray,
    upper: np.ndarray,
    integrality: np.ndarray | None,
) -> Any:
    """A silent HiGHS solver holding ``min c @ x`` (the caller flips signs to maximise).

    ``rows`` are the constraints as :func:`_stacked` gives them.
    """
    matrix, row_lower, row_upper = rows
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_ = c.size
    lp.num_row_ = matrix.shape[0]
    lp.col_cost_ = np.asarray(c, dtype=np.float64)
    lp.col_lower_ = np.asarray(lower, dtype=np.float64)
    lp.col_upper_ = np.where(np.isfinite(upper), upper, inf)
    lp.row_lower_ = np.where(np.isfinite(row_lower), row_lower, -inf)
    lp.row_upper_ = np.where(np.isfinite(row_upper), row_upper, inf)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(np.float64)
    if integrality is not None:
        kinds = highspy.HighsVarType
        lp.integrality_ = [kinds.kInteger if flag else kinds.kContinuous for flag in integrality]
    solver = _quiet_solver(highspy)
    solver.passModel(lp)
    return solver


_SOLUTION_TOL = 1e-6
"""Tolerance of the check of a solution HiGHS returns (:func:`_recomputed`), as HiGHS's own
``mip_feasibility_tolerance``: on integrality, on rows and bounds (relative to the bound, at
least 1) and between the objective it reports and the one recomputed (relative, at least 1)."""


def _recomputed(
    x: np.ndarray,
    cost: np.ndarray,
    rows: tuple[sp.csc_array, np.ndarray, np.ndarray],
    lower: np.ndarray,
    upper: np.ndarray,
    integrality: np.ndarray | None,
) -> float | None:
    """``cost @ x`` when ``x`` satisfies the model within :data:`_SOLUTION_TOL`; None if not.

    ``rows`` are the constraints as :func:`_stacked` gives them; ``lower`` and ``upper`` the
    variables' bounds (infinite where open) and ``integrality`` flags the whole-number ones.
    """
    if x.shape != cost.shape or not np.all(np.isfinite(x)):
        return None
    matrix, row_lower, row_upper = rows

    def outside(value: np.ndarray, low: np.ndarray, high: np.ndarray) -> bool:
        below = low - value > _SOLUTION_TOL * np.maximum(1.0, np.abs(low))
        above = value - high > _SOLUTION_TOL * np.maximum(1.0, np.abs(high))
        return bool(np.any(below | above))

    if outside(x, lower, upper) or outside(matrix @ x, row_lower, row_upper):
        return None
    if integrality is not None:
        whole = x[np.asarray(integrality) != 0]
        if np.any(np.abs(whole - np.round(whole)) > _SOLUTION_TOL):
            return None
    return float(cost @ x)


def _agrees(recomputed: float | None, reported: float) -> bool:
    """Whether a solution's recomputed objective (None: infeasible) is the one reported."""
    if recomputed is None:
        return False
    return abs(recomputed - reported) <= _SOLUTION_TOL * max(1.0, abs(reported))


def solve_highs(
    c: np.ndarray,
    constraints: list[LinearConstraint],
    upper: np.ndarray,
    integrality: np.ndarray | None,
    *,
    deadline: float,
    mip_rel_gap: float,
    maximize: bool,
    lower: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> _Run:
    """Solve ``max``/``min c @ x`` with HiGHS, variables in ``[lower, upper]``, by ``deadline``.

    ``lower`` defaults to zeros. ``start`` is a feasible point handed to HiGHS as its first
    incumbent (only with ``highspy``; scipy's HiGHS takes none). The solution HiGHS returns is
    checked against the model and against the objective it reports (:func:`_recomputed`):
    the value returned is the recomputed one, and a solution that fails the check is never
    called optimal (see :func:`_highs_direct`).
    """
    remaining = deadline - time.perf_counter()
    if remaining <= 0:
        return _Run(None, None, None, optimal=False, timed_out=True)
    low = np.zeros(c.size) if lower is None else lower
    integer = integrality is not None and bool(np.any(integrality))
    sign = -1.0 if maximize else 1.0
    highspy = _highspy()
    if highspy is not None:
        return _highs_direct(
            highspy,
            sign * c,
            constraints,
            low,
            upper,
            integrality if integer else None,
            remaining=remaining,
            mip_rel_gap=mip_rel_gap,
            sign=sign,
            start=start,
        )
    options: dict[str, Any] = {"time_limit": remaining, "presolve": True}
    if integer:
        options["mip_rel_gap"] = mip_rel_gap
    res: OptimizeResult = milp(
        sign * c,
        integrality=integrality if integer else None,
        bounds=Bounds(low, upper),
        constraints=constraints,
        options=options,
    )
    x = None if res.x is None else np.asarray(res.x, dtype=np.float64)
    value = None
    optimal = res.status == 0
    if x is not None and res.fun is not None:
        rows = _stacked(constraints, c.size)
        recomputed = _recomputed(x, sign * c, rows, low, upper, integrality if integer else None)
        if not _agrees(recomputed, float(res.fun)):
            _distrust(recomputed, float(res.fun), sign)
            optimal = False
        x = None if recomputed is None else x
        value = None if recomputed is None else sign * recomputed
    dual = getattr(res, "mip_dual_bound", None) if integer else res.fun
    bound = None
    if dual is not None and math.isfinite(dual) and abs(dual) < 1e30:
        bound = sign * float(dual)
    if res.status not in (0, 1):
        logger.warning("HiGHS gave no solution: %s", res.message)
    return _Run(
        x,
        value,
        bound,
        optimal=optimal,
        timed_out=res.status == 1,
        infeasible=res.status == 2,
    )


def _distrust(recomputed: float | None, reported: float, sign: float) -> None:
    """Say that a solution HiGHS returned failed the check and is not called optimal."""
    worth = "is infeasible" if recomputed is None else f"is worth {sign * recomputed:.10g}"
    logger.warning(
        "HiGHS reported an objective of %.10g, but the solution it returned %s; "
        "it is not called optimal",
        sign * reported,
        worth,
    )


def _highs_direct(
    highspy: Any,
    cost: np.ndarray,
    constraints: list[LinearConstraint],
    lower: np.ndarray,
    upper: np.ndarray,
    integrality: np.ndarray | None,
    *,
    remaining: float,
    mip_rel_gap: float,
    sign: float,
    start: np.ndarray | None,
) -> _Run:
    """:func:`solve_highs` through ``highspy``: a MIP start, and IPM for the LPs of large models.

    highspy 1.16.0 can return the MIP start unchanged with the objective of a better
    solution: its presolve carries the start into the reduced model, where it may be worth
    more, and when that closes the gap the start comes back as it was given, not as the
    solution it became there. So the solution is checked (:func:`_recomputed`), and when it
    does not give the objective reported the model is solved again without the start. The
    first run's dual bound still holds then (an incumbent reported too good only prunes nodes
    whose bound is no better than it, which the dual bound includes), and the tighter of the
    two is kept. When the check fails without a start, or with no time left, the solution is
    kept only if feasible, at its recomputed objective, and is not called optimal.
    """
    began = time.perf_counter()
    rows = _stacked(constraints, cost.size)
    solver = _highspy_solver(highspy, cost, rows, lower, upper, integrality)
    solver.setOptionValue("time_limit", float(remaining))
    solver.setOptionValue("presolve", "on")
    if integrality is not None:
        solver.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        solver.setOptionValue("mip_abs_gap", 1e-6)
        continuous = not np.all(integrality)
        if continuous and solver.getNumNz() >= _IPM_ROOT_NONZEROS:
            solver.setOptionValue("mip_lp_solver", "ipm")
        if start is not None:
            given = highspy.HighsSolution()
            given.col_value = np.asarray(start, dtype=np.float64)
            given.value_valid = True
            solver.setSolution(given)
    solver.run()
    status = solver.getModelStatus()
    statuses = highspy.HighsModelStatus
    info = solver.getInfo()
    feasible = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
    x = np.asarray(solver.getSolution().col_value, dtype=np.float64) if feasible else None
    dual = float(info.mip_dual_bound) if integrality is not None else None
    if integrality is None and status == statuses.kOptimal:
        dual = float(info.objective_function_value)
    if dual is not None and not (math.isfinite(dual) and abs(dual) < 1e30):
        dual = None
    optimal = status == statuses.kOptimal
    timed_out = status == statuses.kTimeLimit
    infeasible = status == statuses.kInfeasible
    if not (optimal or timed_out or infeasible):
        logger.warning("HiGHS gave no solution: %s", solver.modelStatusToString(status))
    value = None
    if x is not None:
        reported = float(info.objective_function_value)
        recomputed = _recomputed(x, cost, rows, lower, upper, integrality)
        left = remaining - (time.perf_counter() - began)
        if not _agrees(recomputed, reported) and start is not None and left > 0:
            logger.debug(
                "HiGHS reported %.10g, but its solution is %s; solving again without the start",
                sign * reported,
                "infeasible" if recomputed is None else f"worth {sign * recomputed:.10g}",
            )
            again = _highs_direct(
                highspy,
                cost,
                constraints,
                lower,
                upper,
                integrality,
                remaining=left,
                mip_rel_gap=mip_rel_gap,
                sign=sign,
                start=None,
            )
            if dual is not None and again.bound is not None:
                dual = max(dual, sign * again.bound)  # lower bounds, minimising
            tighter = again.bound if dual is None else sign * dual
            return replace(again, bound=tighter)
        if not _agrees(recomputed, reported):
            _distrust(recomputed, reported, sign)
            optimal = False
        x = None if recomputed is None else x
        value = None if recomputed is None else sign * recomputed
    bound = None if dual is None else sign * dual
    return _Run(x, value, bound, optimal=optimal, timed_out=timed_out, infeasible=infeasible)


def _loosened(value: float, maximize: bool) -> float:
    """An LP optimum moved outwards by a relative 1e-7: a valid bound despite solver tolerances."""
    return value + (1e-7 if maximize else -1e-7) * max(1.0, abs(value))


@dataclass(frozen=True)
class Relaxed:
    """The LP relaxation's optimum (loosened, a valid bound) and its reduced costs.

    ``reduced`` and ``x`` are in the minimising sense (``min sign * c @ x``) and None when the
    solver gave no basic solution. ``solver`` is the ``highspy.Highs`` holding the LP with its
    optimal basis (for :func:`branch_and_bound`), None without ``highspy``.
    """

    value: float
    x: np.ndarray | None = None
    reduced: np.ndarray | None = None
    solver: Any | None = None


def relaxation(
    c: np.ndarray,
    constraints: list[LinearConstraint],
    upper: np.ndarray,
    *,
    deadline: float,
    maximize: bool,
) -> Relaxed | None:
    """The LP relaxation's optimum, by HiGHS's interior point method with crossover.

    Interior point is used because the relaxations of covering models are highly degenerate:
    on 20,000 × 2,000 it takes seconds where dual simplex takes half a minute. The value is
    loosened by a relative 1e-7 so it stays a valid bound despite solver tolerances. None when
    the time runs out first. With ``highspy`` the reduced costs come too (for fixing), and the
    solver with its basis.
    """
    remaining = deadline - time.perf_counter()
    if c.size == 0:
        return Relaxed(0.0)
    if remaining <= 0:
        return None
    sign = -1.0 if maximize else 1.0
    highspy = _highspy()
    x: np.ndarray | None = None
    reduced: np.ndarray | None = None
    solver: Any | None = None
    if highspy is not None:
        rows = _stacked(constraints, c.size)
        solver = _highspy_solver(highspy, sign * c, rows, np.zeros(c.size), upper, None)
        solver.setOptionValue("time_limit", float(remaining))
        solver.setOptionValue("solver", "ipm")
        solver.setOptionValue("run_crossover", "on")
        solver.run()
        if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        info = solver.getInfo()
        objective = float(info.objective_function_value)
        if info.dual_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible:
            solution = solver.getSolution()
            x = np.asarray(solution.col_value, dtype=np.float64)
            reduced = np.asarray(solution.col_dual, dtype=np.float64)
        else:
            solver = None
    else:
        blocks, rhs = [], []
        for constraint in constraints:
            matrix = sp.csr_array(constraint.A)
            lb = np.broadcast_to(np.asarray(constraint.lb, dtype=np.float64), (matrix.shape[0],))
            ub = np.broadcast_to(np.asarray(constraint.ub, dtype=np.float64), (matrix.shape[0],))
            upper_side = np.isfinite(ub)
            lower_side = np.isfinite(lb)
            if upper_side.any():
                blocks.append(matrix[np.flatnonzero(upper_side)])
                rhs.append(ub[upper_side])
            if lower_side.any():
                blocks.append(-matrix[np.flatnonzero(lower_side)])
                rhs.append(-lb[lower_side])
        res = linprog(
            sign * c,
            A_ub=sp.vstack(blocks, format="csr"),
            b_ub=np.concatenate(rhs),
            bounds=np.column_stack([np.zeros(c.size), upper]),
            method="highs-ipm",
            options={"time_limit": remaining},
        )
        if res.status != 0:
            return None
        objective = float(res.fun)
    value = sign * objective
    return Relaxed(_loosened(value, maximize), x, reduced, solver)


def with_row_bound(
    relaxed: Relaxed, row: int, upper: float, *, deadline: float, maximize: bool
) -> Relaxed | None:
    """The LP of ``relaxed`` with row ``row`` bounded above by ``upper`` instead, re-solved.

    By dual simplex from the last basis held by ``relaxed.solver`` (it stays dual feasible when
    only a right-hand side moves, so a few pivots do); the solver is changed and shared with
    the result. None without a solver, when the time runs out or the LP fails.
    """
    highspy = _highspy()
    solver = relaxed.solver
    remaining = deadline - time.perf_counter()
    if highspy is None or solver is None or remaining <= 0:
        return None
    solver.changeRowBounds(row, -highspy.kHighsInf, float(upper))
    solver.setOptionValue("solver", "simplex")
    solver.setOptionValue("presolve", "off")
    solver.setOptionValue("time_limit", float(solver.getRunTime() + remaining))
    solver.run()
    if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sign = -1.0 if maximize else 1.0
    value = sign * float(solver.getInfo().objective_function_value)
    solution = solver.getSolution()
    x = np.asarray(solution.col_value, dtype=np.float64)
    reduced = np.asarray(solution.col_dual, dtype=np.float64)
    return Relaxed(_loosened(value, maximize), x, reduced, solver)


def fixings(
    relaxed: Relaxed, n_x: int, cutoff: float, *, maximize: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Binaries that reduced costs fix: no solution as good as ``cutoff`` can move them.

    With the relaxation's value ``L`` and reduced cost ``d_j`` (minimising sense), any
    solution with a binary at 0 raised to 1 costs at least ``L + d_j``; one at 1 lowered to 0,
    at least ``L - d_j``. When that exceeds ``cutoff`` (minimising sense) by more than the
    solver's tolerances, every solution at least as good as ``cutoff`` keeps the binary where
    the LP put it. Returns the positions fixed to 0 and to 1.
    """
    none = np.zeros(0, dtype=np.int64)
    if relaxed.x is None or relaxed.reduced is None:
        return none, none
    sign = -1.0 if maximize else 1.0
    low = sign * relaxed.value  # the loosened value, in the minimising sense
    limit = sign * cutoff
    tol = 1e-6 * max(1.0, abs(low), abs(limit))
    x, d = relaxed.x[:n_x], relaxed.reduced[:n_x]
    zero = np.flatnonzero((x <= 1e-9) & (low + d > limit + tol))
    one = np.flatnonzero((x >= 1 - 1e-9) & (low - d > limit + tol))
    return zero, one


BRANCH_TOL = 1e-7
"""Relative slack below which a node's LP bound counts as no better than the incumbent (the
LP's own tolerances are of that order); the bound reported includes it."""

_INTEGRAL_TOL = 1e-6
"""Distance from 0 or 1 within which a binary counts as integral."""

_TINY_SCORE = 1e-6
"""Floor of a side's estimated bound change in the pseudo-cost product (a side the records say
costs nothing must not cancel the other)."""


@dataclass(order=True)
class _Node:
    """An open node of the branch-and-bound.

    Its parent's LP value (minimising, the heap key), the binaries fixed to 1 and to 0, and the
    parent's optimal basis to start its LP from (None: whatever the solver holds).
    """

    parent: float
    ones: np.ndarray = field(compare=False)
    zeros: np.ndarray = field(compare=False)
    basis: Any = field(compare=False, default=None)
    branch: tuple[int, int, float] | None = field(compare=False, default=None)
    """The pattern branched on to make this node, the side (0: none of its sites built, 1: it
    is covered) and how far that moved its reach, for the pseudo-costs."""


_HEURISTIC_SHARE = 0.3
"""Most share of the branch-and-bound's time the rounding heuristic may take."""


def branch_and_bound(
    relaxed: Relaxed,
    n_x: int,
    *,
    lower: np.ndarray,
    upper: np.ndarray,
    start: np.ndarray,
    value_of: Callable[[np.ndarray], float],
    maximize: bool,
    deadline: float,
    mip_rel_gap: float,
    rounding: Callable[[np.ndarray], np.ndarray] | None = None,
    patterns: sp.csr_array | None = None,
    restart_share: float = 0.0,
    floor: float | None = None,
    stop: threading.Event | None = None,
) -> _Run | None:
    """Branch-and-bound over the first ``n_x`` variables (binaries), from the root LP.

    ``relaxed`` is the root LP with its warm solver; ``lower`` and ``upper`` the binaries'
    bounds after the root's reduced-cost fixing; ``start`` the positions of a known solution's
    chosen binaries and ``value_of`` the objective of such a set; ``rounding`` turns a node's LP
    values of the binaries into a feasible set (a heuristic; None: none). The other variables
    stay continuous.

    Each node re-solves the LP by dual simplex, from the last basis when it is a dive's child
    and from its parent's basis when taken from the heap. It is pruned when its value
    is no better than the incumbent (within ``mip_rel_gap`` or :data:`BRANCH_TOL`); otherwise
    it fixes binaries by its own reduced costs for its subtree and branches on the most
    fractional binary. The search dives, "1" side first, and when a dive ends takes the open
    node with the best bound. A better incumbent (from an integral LP or the rounding) fixes
    more binaries at the root's reduced costs, for the whole tree.

    ``patterns`` (rows × binaries) says which binaries reach the pattern of each continuous
    variable ``z_i ≤ Σ x_j``: then the search branches on a pattern reached fractionally
    instead (either ``z_i = 1``, or none of its sites is built), which moves the bound where
    single sites would only hand their share to a neighbour. It picks the pattern by pseudo-
    costs: each branching records how much the child's bound fell per resident of the pattern
    per unit of reach moved, and a pattern's two sides are estimated from its own record (the
    mean of all records before it has one); the pattern with the largest product of the two
    estimates is taken.

    With ``restart_share`` > 0 the search stops as soon as the incumbent's reduced-cost fixing
    has fixed that share of the binaries: the caller can rebuild a smaller model on the rest
    (``free`` in the result) and search again.

    ``floor`` is a value the caller only needs beaten (None: none): nodes no better are pruned
    as if an incumbent had it, and fixed by it, so an exhausted tree proves that nothing beats
    the better of the incumbent and ``floor``.

    ``stop``, once set (from another thread), ends the search as the deadline would.

    Returns the best set as ``x`` (binaries only) with its value and the best bound (the
    weakest LP value among pruned and open nodes, or the better of the incumbent and
    ``floor``); ``optimal`` when the tree is exhausted, ``timed_out`` at ``deadline``. None
    when an LP fails for another reason (the caller then hands the model to HiGHS's MIP
    solver).
    """
    highspy = _highspy()
    solver = relaxed.solver
    if highspy is None or solver is None:
        return None
    statuses = highspy.HighsModelStatus
    sign = -1.0 if maximize else 1.0
    best = np.asarray(start, dtype=np.int64)
    best_value = value_of(best)
    bar = best_value if floor is None else (max if maximize else min)(best_value, floor)
    global_low = np.array(lower, dtype=np.float64)
    global_up = np.array(upper, dtype=np.float64)
    n_all = global_low.size
    columns = np.arange(n_all, dtype=np.int32)
    weight = None if patterns is None else np.abs(np.asarray(solver.getLp().col_cost_)[n_x:])
    solver.setOptionValue("solver", "simplex")
    solver.setOptionValue("presolve", "off")
    model = solver.getLp()
    root_low, root_up = np.array(model.col_lower_), np.array(model.col_upper_)
    root_basis = solver.getBasis()
    began = time.perf_counter()
    rounding_s = 0.0

    def slack() -> float:
        return max(mip_rel_gap, BRANCH_TOL) * max(1.0, abs(bar))

    def offer(picked: np.ndarray) -> None:
        nonlocal best, best_value, bar
        value = value_of(picked)
        if sign * value < sign * best_value - slack():
            best, best_value = picked, value
        if sign * value < sign * bar - slack():
            bar = value
            zero, one = fixings(relaxed, n_x, bar, maximize=maximize)
            global_up[zero] = 0.0
            global_low[one] = 1.0
            logger.debug("node %d: incumbent %.8g, %d fixed at the root", nodes, value, zero.size)

    closed = math.inf  # weakest LP value (minimising) of a subtree pruned by its bound
    empty = np.zeros(0, np.int64)
    heap: list[_Node] = []
    node: _Node | None = _Node(sign * relaxed.value, empty, empty)
    nodes = 0
    timed_out = False
    restart = False
    n_rows = 0 if patterns is None else patterns.shape[0]
    fell = np.zeros((2, n_rows))  # per side and pattern: bound lost per resident and reach
    times = np.zeros((2, n_rows))
    fixed_before = np.count_nonzero(global_up[:n_x] == 0)
    while node is not None or heap:
        fixed = np.count_nonzero(global_up[:n_x] == 0) - fixed_before
        if restart_share > 0 and fixed >= restart_share * n_x:
            if node is not None:
                heapq.heappush(heap, node)  # its bound is the search's too
            restart = True
            break
        popped = node is None
        if node is None:
            node = heapq.heappop(heap)
        remaining = deadline - time.perf_counter()
        if remaining <= 0 or (stop is not None and stop.is_set()):
            heapq.heappush(heap, node)
            timed_out = True
            break
        current, node = node, None
        low, up = global_low.copy(), global_up.copy()
        low[current.ones] = 1.0
        up[current.zeros] = 0.0
        if current.parent >= sign * bar - slack() or np.any(low > up):
            # the incumbent improved since, or a root fixing excludes this subtree: a fixing
            # made at an incumbent leaves out only what is worse, so nothing here beats it
            closed = min(closed, max(current.parent, sign * bar))
            continue
        solver.changeColsBounds(n_all, columns, low, up)
        if popped and current.basis is not None:
            solver.setBasis(current.basis)  # a dive's child starts from its parent's anyway
        solver.setOptionValue("time_limit", float(solver.getRunTime() + remaining))
        solver.run()
        nodes += 1
        status = solver.getModelStatus()
        if status == statuses.kInfeasible:
            continue
        if status == statuses.kTimeLimit:
            heapq.heappush(heap, current)
            timed_out = True
            break
        if status != statuses.kOptimal:
            logger.warning("branch-and-bound LP: %s", solver.modelStatusToString(status))
            solver.changeColsBounds(n_all, columns, root_low, root_up)
            return None
        objective = float(solver.getInfo().objective_function_value)
        if current.branch is not None and weight is not None:
            on_row, side, moved = current.branch
            fell[side, on_row] += max(objective - current.parent, 0.0) / (moved * weight[on_row])
            times[side, on_row] += 1
        if objective >= sign * bar - slack():
            closed = min(closed, objective)
            continue
        solution = solver.getSolution()
        x = np.asarray(solution.col_value, dtype=np.float64)[:n_x]
        distance = np.minimum(x, 1.0 - x)
        fractional = np.flatnonzero(distance > _INTEGRAL_TOL)
        if fractional.size == 0:
            offer(np.flatnonzero(x > 0.5))
            closed = min(closed, objective)
            continue
        if rounding is not None and rounding_s <= _HEURISTIC_SHARE * (time.perf_counter() - began):
            tick = time.perf_counter()
            offer(rounding(x))
            rounding_s += time.perf_counter() - tick
        here = Relaxed(sign * objective, x, np.asarray(solution.col_dual, dtype=np.float64)[:n_x])
        zero, one = fixings(here, n_x, bar, maximize=maximize)
        zeros = np.union1d(current.zeros, zero)
        ones = np.union1d(current.ones, one)
        row = None
        if patterns is not None:
            reach = patterns @ x
            part = np.minimum(reach, 1.0 - reach)
            seen = times.sum(axis=1)
            mean = np.where(seen > 0, fell.sum(axis=1) / np.maximum(seen, 1), 1.0)
            rate = np.where(times > 0, fell / np.maximum(times, 1), mean[:, None])
            off = np.maximum(rate[0] * weight * reach, _TINY_SCORE)
            on = np.maximum(rate[1] * weight * (1.0 - reach), _TINY_SCORE)
            score = np.where(part > _INTEGRAL_TOL, off * on, 0.0)
            if score.max() > 0:
                row = int(np.argmax(score))
        if row is None or patterns is None:
            j = int(fractional[np.argmax(distance[fractional])])
            heapq.heappush(heap, _Node(objective, ones, np.append(zeros, j), solver.getBasis()))
            node = _Node(objective, np.append(ones, j), zeros)
        else:
            # either some site reaches the pattern (its z at 1), or none of them is built
            around = patterns.indices[patterns.indptr[row] : patterns.indptr[row + 1]]
            basis = solver.getBasis()
            none_built = (row, 0, float(reach[row]))
            off_node = _Node(objective, ones, np.union1d(zeros, around), basis, none_built)
            heapq.heappush(heap, off_node)
            covered = (row, 1, float(1.0 - reach[row]))
            node = _Node(objective, np.append(ones, n_x + row), zeros, branch=covered)
        if nodes % 100 == 0:
            logger.debug(
                "node %d: %d open, bound %.8g, incumbent %.8g",
                nodes,
                len(heap),
                sign * min([objective] + [n.parent for n in heap[:1]]),
                best_value,
            )
    solver.changeColsBounds(n_all, columns, root_low, root_up)  # the root LP again, for reuse
    solver.setBasis(root_basis)
    bound_min = min([sign * bar, closed] + [n.parent for n in heap])
    logger.debug(
        "branch-and-bound: %d nodes, incumbent %.8g, bound %.8g%s",
        nodes,
        best_value,
        sign * bound_min,
        ", time limit" if timed_out else "",
    )
    chosen = np.zeros(n_x)
    chosen[best] = 1.0
    if restart:
        logger.debug(
            "restart after %d nodes: %d binaries fixed", nodes, np.sum(global_up[:n_x] == 0)
        )
    return _Run(
        chosen,
        best_value,
        sign * bound_min,
        optimal=not (timed_out or restart),
        timed_out=timed_out,
        free=np.flatnonzero(global_up[:n_x] > 0) if restart else None,
    )

"""What a siting result may claim: its status against its bound, HiGHS's answers checked, quiet.

A :class:`~carecircle.siting.models.Solution` says ``"optimal"`` only when its objective meets its
bound within the solver's tolerance, whatever the search below it claimed; the solutions HiGHS
returns are checked against the objective it reports (highspy 1.16.0 can give back the MIP
start with the objective of a better solution); and no solver prints anything.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import OptimizeResult
from siting_instances import HAND, HAND_WEIGHT

from carecircle.siting import _highs, _outcome, _reduction, _solve
from carecircle.siting import models as siting

# HAND (siting_instances): greedy (with swaps) takes Z and W for 13 of 15 residents; the
# optimum is X and Y, every resident, which is also the LP bound.


# ---------------------------------------------------------------------------------------------
# A status is checked against the objective and the bound where every result is made.


def _claims_optimal(x, value, bound):
    """A run that calls ``x`` (worth ``value``) optimal with ``bound``."""
    return _highs._Run(x, value, bound, optimal=True, timed_out=False)


def test_a_search_calling_a_solution_short_of_its_bound_optimal_is_not_believed(monkeypatch):
    # the branch-and-bound "proves" greedy's Z and W (13) optimal with the LP bound of 15
    def short(relaxed, n_x, **_):
        x = np.zeros(n_x)
        x[[2, 3]] = 1.0
        return _claims_optimal(x, 13.0, 15.0)

    monkeypatch.setattr(_solve, "branch_and_bound", short)
    solution = siting.maximal_covering(HAND, HAND_WEIGHT, 2)
    assert solution.objective == 13.0
    assert solution.bound == pytest.approx(15.0)
    assert solution.status == "time_limit"
    assert solution.gap == pytest.approx(2 / 15)


def test_a_capacitated_run_short_of_its_bound_is_not_optimal(monkeypatch):
    # A (capacity 8) reaches both points of 10, B (capacity 12) the second: B serves 10, the
    # most one site can. HiGHS "proves" A optimal with that bound of 10.
    def short(c, constraints, upper, integrality, **_):
        x = np.zeros(c.size)
        x[0] = 1.0
        return _claims_optimal(x, 8.0, 10.0)

    monkeypatch.setattr(siting, "solve_highs", short)
    cover = np.array([[1, 0], [1, 1]], dtype=bool)
    solution = siting.capacitated_covering(cover, [10.0, 10.0], [8.0, 12.0], 1)
    assert solution.chosen.tolist() == [0]
    assert solution.objective == pytest.approx(8.0)
    assert solution.bound == pytest.approx(10.0)
    assert solution.status == "time_limit"
    assert solution.gap == pytest.approx(2 / 10)


def _made(objective, bound, status, *, mip_rel_gap=0.0, proof_tol=_outcome.PROOF_TOL):
    return siting._solution(
        [0],
        [objective],
        objective,
        bound,
        status,
        "milp",
        uncoverable=np.zeros(0, dtype=np.int64),
        start=time.perf_counter(),
        mip_rel_gap=mip_rel_gap,
        proof_tol=proof_tol,
    )


@pytest.mark.parametrize(
    ("objective", "bound", "options", "expected"),
    [
        (196.0, 200.0, {}, "time_limit"),  # 2 % short, asked for the optimum
        (200.0 * (1 - 2e-6), 200.0, {}, "time_limit"),  # beyond the 1e-6 of a proof
        (200.0 * (1 - 5e-7), 200.0, {}, "optimal"),  # within it
        (0.4999995, 0.5, {}, "optimal"),  # within HiGHS's absolute gap of 1e-6
        (196.0, 200.0, {"mip_rel_gap": 0.03}, "optimal"),  # within the gap asked for
        (196.0, 200.0, {"mip_rel_gap": 0.01}, "time_limit"),
        (5.0, 4.0, {"proof_tol": 0.0}, "time_limit"),  # set covering: 5 sites, 4 at least
        (4.0, 4.0, {"proof_tol": 0.0}, "optimal"),
    ],
)
def test_optimal_only_when_the_objective_meets_the_bound(objective, bound, options, expected):
    solution = _made(objective, bound, "optimal", **options)
    assert solution.status == expected
    assert solution.gap == pytest.approx(abs(bound - objective) / bound)


def test_a_heuristic_meeting_its_bound_is_optimal_and_other_statuses_stay():
    assert _made(15.0, 15.0 * (1 + 1e-7), "heuristic").status == "optimal"
    assert _made(13.0, 15.0, "heuristic").status == "heuristic"
    assert _made(13.0, 15.0, "time_limit").status == "time_limit"


# ---------------------------------------------------------------------------------------------
# A solution HiGHS returns is checked against the objective it reports.


class _GivesBack:
    """A HiGHS solver that returns the MIP start it is handed (``fill`` None) as its solution.

    highspy 1.16.0 does that when its presolve turns the start into a better solution of the
    reduced model: it reports that solution's objective and returns the start as it was. With
    ``fill``, every variable comes back at that value instead.
    """

    def __init__(self, solver, fill=None):
        self._solver = solver
        self._fill = fill
        self._start = None

    def __getattr__(self, name):
        return getattr(self._solver, name)

    def setSolution(self, given):
        self._start = np.array(given.col_value)
        return self._solver.setSolution(given)

    def getSolution(self):
        solution = self._solver.getSolution()
        if self._fill is not None:
            solution.col_value = np.full(len(solution.col_value), float(self._fill))
        elif self._start is not None:
            solution.col_value = self._start
        return solution


def _hand_programme():
    """The covering programme of the hand instance for two sites, and greedy's start."""
    model = _reduction.reduce_model(sp.csr_array(HAND), HAND_WEIGHT, None)
    c, constraints, upper, integrality = _solve.coverage_program(
        model, np.ones(model.own.size), 2.0
    )
    picked = np.flatnonzero(np.isin(model.candidates, [2, 3]))  # Z and W
    return c, constraints, upper, integrality, _solve._start(model, picked)


def _solved(monkeypatch, wrap, *, start):
    pytest.importorskip("highspy")
    made = []
    quiet = _highs._quiet_solver

    def solver(highspy):
        made.append(wrap(quiet(highspy)) if not made else quiet(highspy))
        return made[-1]

    monkeypatch.setattr(_highs, "_quiet_solver", solver)
    c, constraints, upper, integrality, greedy = _hand_programme()
    run = _highs.solve_highs(
        c,
        constraints,
        upper,
        integrality,
        deadline=time.perf_counter() + 30.0,
        mip_rel_gap=0.0,
        maximize=True,
        start=greedy if start else None,
    )
    return run, c, len(made)


def test_a_returned_mip_start_worth_less_than_reported_is_solved_again(monkeypatch):
    run, c, solvers = _solved(monkeypatch, _GivesBack, start=True)
    assert solvers == 2  # solved again, without the start
    assert run.optimal
    assert run.value == pytest.approx(15.0)
    assert float(c @ run.x) == pytest.approx(15.0)  # the solution is worth what is reported
    assert run.bound == pytest.approx(15.0)


def test_a_solution_worth_less_than_reported_without_a_start_is_not_optimal(monkeypatch):
    def nothing_built(solver):
        return _GivesBack(solver, fill=0.0)  # feasible, worth 0

    run, _, solvers = _solved(monkeypatch, nothing_built, start=False)
    assert solvers == 1
    assert not run.optimal
    assert run.value == 0.0  # the solution's own worth, not the 15 reported
    assert run.bound == pytest.approx(15.0)


def test_an_infeasible_returned_solution_is_dropped(monkeypatch):
    def everything_built(solver):
        return _GivesBack(solver, fill=1.0)  # four sites for two

    run, _, _ = _solved(monkeypatch, everything_built, start=False)
    assert run.x is None and run.value is None
    assert not run.optimal


def test_scipy_milp_answers_are_checked_too(monkeypatch):
    c, constraints, upper, integrality, _ = _hand_programme()

    def fake_milp(cost, **_):
        return OptimizeResult(
            x=np.zeros(cost.size), fun=-15.0, status=0, message="", mip_dual_bound=-15.0
        )

    monkeypatch.setattr(_highs, "_highspy", lambda: None)
    monkeypatch.setattr(_highs, "milp", fake_milp)
    run = _highs.solve_highs(
        c,
        constraints,
        upper,
        integrality,
        deadline=time.perf_counter() + 30.0,
        mip_rel_gap=0.0,
        maximize=True,
    )
    assert not run.optimal
    assert run.value == 0.0
    assert run.bound == pytest.approx(15.0)


# ---------------------------------------------------------------------------------------------
# No solver output on the terminal.


def _every_model():
    """Each model once, on instances where HiGHS's MIP solver or the branch-and-bound runs."""
    rng = np.random.default_rng(3)
    cover = rng.random((60, 12)) < 0.15
    weight = rng.integers(1, 20, 60).astype(float)
    cost = rng.integers(2, 6, 12) * 100.0
    siting.maximal_covering(HAND, HAND_WEIGHT, 2)
    siting.maximal_covering(cover, weight, 3)
    siting.set_covering(cover)
    siting.budgeted_covering(cover, weight, cost, 900.0)
    siting.budgeted_covering(cover, weight, cost, 1500.0, years=3)
    siting.capacitated_covering(cover, weight, np.full(12, 30.0), 3)


@pytest.mark.parametrize("with_highspy", [True, False], ids=["highspy", "scipy"])
def test_the_solvers_print_nothing(capfd, monkeypatch, with_highspy):
    if not with_highspy:
        monkeypatch.setattr(_highs, "_highspy", lambda: None)
    _every_model()
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


def test_the_first_solver_of_a_process_prints_no_banner():
    # highspy 1.16 prints its banner once per process, when the first Highs() is made
    script = textwrap.dedent(
        """
        import numpy as np
        from carecircle.siting import models as siting
        cover = np.array([[1, 0, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1], [0, 1, 0, 1],
                          [1, 0, 0, 0], [0, 1, 0, 0]], dtype=bool)
        siting.maximal_covering(cover, [5.0, 4.0, 2.0, 2.0, 1.0, 1.0], 2)
        siting.set_covering(cover)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout == ""
    assert done.stderr == ""

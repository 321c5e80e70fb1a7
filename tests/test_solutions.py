"""What the siting solvers show: nothing on the terminal, from the first solver of a process on."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from carecircle import _highs, siting

# The hand instance of tests/test_siting.py: greedy (with swaps) takes Z and W for 13 of 15
# residents; the optimum is X and Y, every resident, which is also the LP bound.
#   point  weight  reached by
#   p0     5       X, Z
#   p1     4       Y, Z
#   p2     2       X, W
#   p3     2       Y, W
#   p4     1       X
#   p5     1       Y
HAND = np.array(
    [
        [1, 0, 1, 0],
        [0, 1, 1, 0],
        [1, 0, 0, 1],
        [0, 1, 0, 1],
        [1, 0, 0, 0],
        [0, 1, 0, 0],
    ],
    dtype=bool,
)
HAND_WEIGHT = np.array([5.0, 4.0, 2.0, 2.0, 1.0, 1.0])


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
        from carecircle import siting
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

"""The array models' inputs: never changed, results frozen, and bad values named in one line."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
from siting_instances import HAND, HAND_WEIGHT

from carecircle.errors import InputError
from carecircle.siting import models as siting

# ---------------------------------------------------------------------------------------------
# Inputs.


def test_inputs_are_not_mutated_and_results_are_frozen():
    cover = sp.csr_matrix(HAND.astype(float))
    before = cover.copy()
    weight = HAND_WEIGHT.copy()
    covered = np.zeros(6, dtype=bool)
    solution = siting.maximal_covering(cover, weight, 2, covered=covered)
    assert (cover != before).nnz == 0
    assert cover.dtype == np.float64
    assert weight.tolist() == HAND_WEIGHT.tolist()
    assert not covered.any()
    with pytest.raises(dataclasses.FrozenInstanceError):
        solution.objective = 0.0  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        solution.chosen[0] = 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"weight": [1.0, 2.0]}, r"weight has shape \(2,\); expected \(6,\)"),
        ({"weight": [1, 1, -2, 1, 1, 1]}, r"weight\[2\] \(demand point 2\) is -2\.0"),
        ({"weight": [1, 1, 1, np.inf, 1, 1]}, r"weight\[3\] .* is inf; expected a finite"),
        ({"k": -1}, r"k is -1; expected a whole number"),
        ({"k": 2.5}, r"k is 2\.5; expected a whole number"),
        ({"k": True}, r"k is True; expected a whole number"),
        ({"covered": [True, False]}, r"covered has shape \(2,\); expected \(6,\)"),
        ({"cover": np.full((6, 4), 2)}, r"cover\[0, 0\] is 2; expected booleans"),
        ({"cover": np.ones(6)}, r"cover has 1 dimension"),
        ({"time_limit_s": 0}, r"time_limit_s is 0; expected a number of seconds > 0"),
        ({"mip_rel_gap": 1.5}, r"mip_rel_gap is 1\.5"),
    ],
)
def test_bad_inputs_say_what_was_found_and_expected(kwargs, message):
    args = {"cover": HAND, "weight": HAND_WEIGHT, "k": 2} | kwargs
    with pytest.raises(InputError, match=message):
        siting.maximal_covering(args.pop("cover"), args.pop("weight"), args.pop("k"), **args)

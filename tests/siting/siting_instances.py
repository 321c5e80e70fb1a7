"""Covering instances the siting tests share: worked out by hand, or drawn at random."""

from __future__ import annotations

import itertools

import numpy as np
import scipy.sparse as sp

from carecircle.siting import _reduction

# ---------------------------------------------------------------------------------------------
# Hand instance for maximal covering, where greedy (and greedy + one swap) is not optimal.
#
#   point  weight  reached by        site  reaches          alone
#   p0     5       X, Z              X=0   p0 p2 p4         5+2+1 = 8
#   p1     4       Y, Z              Y=1   p1 p3 p5         4+2+1 = 7
#   p2     2       X, W              Z=2   p0 p1            5+4   = 9
#   p3     2       Y, W              W=3   p2 p3            2+2   = 4
#   p4     1       X
#   p5     1       Y
#
# k = 2. Greedy takes Z (9), then W (+4: p2, p3; X would add p2+p4 = 3, Y p3+p5 = 3): 13.
# No single swap helps: {X,W} 10, {Y,W} 9, {Z,X} 12, {Z,Y} 12. The optimum is {X, Y}, every
# point, 15; in order of marginal gain X (8) then Y (7). The LP bound is 15 as well.
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
# Set covering with a point no candidate reaches.
#
#   site  reaches        p5 is reached only by S2, p4 by S1 or S3, and S1 ∪ S2 reach p0..p5:
#   S0    p0 p1 p2 p3    two sites. Greedy would start with S0 (4 points) and need three.
#   S1    p0 p2 p4       p6 is reached by nobody: listed in ``uncoverable``.
#   S2    p1 p3 p5       Order (points): S1 3, S2 3, tie → lower index first.
#   S3    p4             With weights [1,1,1,1,1,5,9]: S2 7, S1 3.
SETS = [[0, 1, 2, 3], [0, 2, 4], [1, 3, 5], [4]]
SET_COVER = np.zeros((7, 4), dtype=bool)
for _site, _points in enumerate(SETS):
    SET_COVER[_points, _site] = True


def random_instance(seed, n_demand=14, n_sites=7):
    """A small random maximal-covering instance: rng, cover, weight and the covered points."""
    rng = np.random.default_rng(seed)
    cover = rng.random((n_demand, n_sites)) < rng.uniform(0.1, 0.45)
    weight = rng.integers(0, 10, n_demand).astype(float)
    covered = rng.random(n_demand) < 0.2
    return rng, cover, weight, covered


def town_instance(seed, n_towns=3, n_points=10, n_sites=5):
    """A model of towns no site links (a block-diagonal coverage), with their brute force."""
    rng = np.random.default_rng(seed)
    blocks = [rng.random((n_points, n_sites)) < rng.uniform(0.25, 0.5) for _ in range(n_towns)]
    cover = sp.block_diag(blocks).toarray().astype(bool)
    cover = cover[cover.any(axis=1)]
    weight = rng.integers(1, 10, cover.shape[0]).astype(float)
    model = _reduction.Reduced(
        matrix=sp.csr_array(cover.astype(float)),
        weight=weight,
        own=np.zeros(cover.shape[1]),
        candidates=np.arange(cover.shape[1]),
    )
    return rng, cover, weight, model


def all_sets(n, k=None):
    """Every set of sites among ``n`` (of at most ``k``), for the brute force."""
    top = n if k is None else k
    return (list(sites) for r in range(top + 1) for sites in itertools.combinations(range(n), r))

"""Benchmark carecircle's siting models on a synthetic district of 20,000 × 2,000.

Demand points and candidate sites are scattered over a 20 km × 20 km plane with a fixed seed:
by default 80 % of the points in 40 towns (Gaussian, 300–1,500 m spread) and 20 % spread
evenly as villages (``--layout clustered``), or all evenly (``--layout uniform``). Candidates
sit near demand points. A candidate covers the points within a radius chosen so that the
coverage matrix has the requested density (1 % by default: each candidate reaches about 200
points, each point about 20 candidates). Each point holds a random number of older residents
(Poisson with a Gamma(2, 15) mean).

It solves maximal covering for ``k`` sites and set covering under the time limit and prints
time, objective, bound, gap, status and method, then greedy maximal covering with its gap to
its own bound (the LP relaxation) and to the best bound known. With ``--budget-per-year`` it
also solves budgeted covering over ``--years`` yearly budgets, each candidate costing one of
three prices at random, and prints what each year spends.

With ``--source network`` coverage is built the way ``carecircle site`` builds it: the same
points on a synthetic street grid (100 m blocks), snapped to the nearest street, each candidate
covering the points it reaches on foot within ``--minutes`` at ``--speed`` (15 min at 0.9 m/s by
default), by :func:`carecircle.siting.candidates.coverage_matrix`; ``--density`` is then ignored.

Usage::

    python scripts/benchmark_siting.py                  # 20,000 × 2,000, 1 %, k = 50, 30 s
    python scripts/benchmark_siting.py --density 0.002  # sparser coverage
    python scripts/benchmark_siting.py --quick          # 2,000 × 200, a smoke run
    python scripts/benchmark_siting.py --source network # walking coverage on a street grid
    python scripts/benchmark_siting.py --budget-per-year 700000 --years 5  # and yearly budgets
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
from scipy.sparse import csr_array
from scipy.spatial import cKDTree

from carecircle import siting

SIDE_M = 20_000.0
PRICES_YUAN = (150_000.0, 250_000.0, 450_000.0)
"""Candidate costs drawn for ``--budget-per-year``."""


def build(
    n_demand: int, n_candidates: int, *, density: float, layout: str, seed: int
) -> tuple[csr_array, np.ndarray, float]:
    """Coverage matrix, residents per point and the radius in metres."""
    rng = np.random.default_rng(seed)
    if layout == "clustered":
        points, sites = _layout(n_demand, n_candidates, rng)
    else:
        points = rng.uniform(0, SIDE_M, (n_demand, 2))
        sites = rng.uniform(0, SIDE_M, (n_candidates, 2))
    tree = cKDTree(points)
    target = density * n_demand * n_candidates
    low, high = 1.0, SIDE_M
    for _ in range(40):  # the radius giving the density, by bisection
        radius_m = (low + high) / 2
        found = int(tree.query_ball_point(sites, radius_m, return_length=True).sum())
        low, high = (radius_m, high) if found < target else (low, radius_m)
    lists = tree.query_ball_point(sites, radius_m)
    cols = np.repeat(np.arange(n_candidates), [len(found) for found in lists])
    rows = np.concatenate([np.asarray(found, dtype=np.int64) for found in lists])
    cover = csr_array(
        (np.ones(rows.size, dtype=bool), (rows, cols)), shape=(n_demand, n_candidates)
    )
    residents = rng.poisson(rng.gamma(2.0, 15.0, n_demand)).astype(float)
    return cover, residents, radius_m


def build_network(
    n_demand: int, n_candidates: int, *, minutes: float, speed_m_s: float, seed: int
) -> tuple[csr_array, np.ndarray, float]:
    """Coverage on foot over a synthetic street grid, residents per point, the walk in metres."""
    from carecircle import network, travel
    from carecircle.siting import candidates

    rng = np.random.default_rng(seed)
    points, sites = _layout(n_demand, n_candidates, rng)
    points, sites = np.clip(points, 0, SIDE_M), np.clip(sites, 0, SIDE_M)
    side = int(SIDE_M // 100) + 1
    origin = (640_000.0, 3_270_000.0)
    net = network.synthetic_grid(side, side, spacing_m=100.0, origin=origin)
    targets = travel.snap(net, origin[0] + points[:, 0], origin[1] + points[:, 1])
    placed = travel.snap(net, origin[0] + sites[:, 0], origin[1] + sites[:, 1])
    limit_s = np.full(n_demand, minutes * 60.0)
    cover = candidates.coverage_matrix(net, placed, targets, limit_s, speed_m_s=speed_m_s)
    residents = rng.poisson(rng.gamma(2.0, 15.0, n_demand)).astype(float)
    return csr_array(cover), residents, minutes * 60.0 * speed_m_s


def _layout(
    n_demand: int, n_candidates: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Clustered points (towns and villages) and candidates near them, in metres."""
    n_towns = 40
    centres = rng.uniform(0, SIDE_M, (n_towns, 2))
    spread_m = rng.uniform(300, 1500, n_towns)
    share = rng.dirichlet(np.full(n_towns, 2.0))
    n_town = int(n_demand * 0.8)
    town = rng.choice(n_towns, n_town, p=share)
    in_towns = centres[town] + rng.normal(0, 1, (n_town, 2)) * spread_m[town, None]
    villages = rng.uniform(0, SIDE_M, (n_demand - n_town, 2))
    points = np.vstack([in_towns, villages])
    sites = points[rng.choice(n_demand, n_candidates, replace=False)]
    return points, sites + rng.normal(0, 100, (n_candidates, 2))


def show(name: str, solution: siting.Solution, seconds: float) -> None:
    print(
        f"{name:<28} {seconds:7.2f} s  objective {solution.objective:12,.0f}  "
        f"bound {solution.bound:12,.1f}  gap {solution.gap:7.3%}  "
        f"{solution.status:<10} {solution.method:<6} sites {solution.chosen.size}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demand", type=int, default=20_000)
    parser.add_argument("--candidates", type=int, default=2_000)
    parser.add_argument("--density", type=float, default=0.01)
    parser.add_argument("--k", type=int, default=50)
    parser.add_argument("--layout", choices=("clustered", "uniform"), default="clustered")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per model")
    parser.add_argument("--source", choices=("plane", "network"), default="plane")
    parser.add_argument("--minutes", type=float, default=15.0, help="walking limit (network)")
    parser.add_argument("--speed", type=float, default=0.9, help="walking speed m/s (network)")
    parser.add_argument("--quick", action="store_true", help="2,000 × 200, a smoke run")
    parser.add_argument(
        "--budget-per-year",
        type=float,
        help="also budgeted covering over --years yearly budgets of this many yuan, each "
        "candidate costing 150,000, 250,000 or 450,000 at random",
    )
    parser.add_argument("--years", type=int, default=5, help="yearly budgets (default 5)")
    args = parser.parse_args()
    if args.quick:
        args.demand, args.candidates, args.k = 2_000, 200, 10

    started = time.perf_counter()
    if args.source == "network":
        args.layout = "network (clustered)"
        cover, residents, radius_m = build_network(
            args.demand, args.candidates, minutes=args.minutes, speed_m_s=args.speed, seed=args.seed
        )
    else:
        cover, residents, radius_m = build(
            args.demand, args.candidates, density=args.density, layout=args.layout, seed=args.seed
        )
    built = time.perf_counter() - started
    reach = np.diff(cover.indptr)
    print(
        f"{args.layout} {args.demand:,} points × {args.candidates:,} candidates, seed "
        f"{args.seed}: radius {radius_m:,.0f} m, density {cover.nnz / np.prod(cover.shape):.3%}, "
        f"{reach.mean():.1f} candidates per point, {int((reach == 0).sum())} points no "
        f"candidate reaches, {residents.sum():,.0f} residents; built in {built:.1f} s; "
        f"{os.cpu_count()} cores; time limit {args.time_limit:g} s"
    )

    tick = time.perf_counter()
    best = siting.maximal_covering(cover, residents, args.k, time_limit_s=args.time_limit)
    show(f"maximal covering k={args.k}", best, time.perf_counter() - tick)

    tick = time.perf_counter()
    greedy = siting.greedy_maximal_covering(cover, residents, args.k, time_limit_s=args.time_limit)
    show(f"greedy maximal covering k={args.k}", greedy, time.perf_counter() - tick)
    bound = min(best.bound, greedy.bound)
    print(
        f"{'':<28} greedy is {1 - greedy.objective / best.objective:.3%} below the MILP "
        f"answer and {(bound - greedy.objective) / bound:.3%} below the best bound"
    )

    tick = time.perf_counter()
    cover_all = siting.set_covering(cover, time_limit_s=args.time_limit)
    show("set covering", cover_all, time.perf_counter() - tick)
    print(f"{'':<28} {cover_all.uncoverable.size} points no candidate reaches, left out")

    if args.budget_per_year is not None:
        prices = np.random.default_rng(args.seed + 1).choice(PRICES_YUAN, args.candidates)
        tick = time.perf_counter()
        yearly = siting.budgeted_covering(
            cover,
            residents,
            prices,
            args.budget_per_year * args.years,
            years=args.years,
            time_limit_s=args.time_limit,
        )
        show(f"{args.years} yearly budgets", yearly, time.perf_counter() - tick)
        spent = np.bincount(yearly.year, weights=prices[yearly.chosen], minlength=args.years)
        print(f"{'':<28} spent per year: {', '.join(f'{s:,.0f}' for s in spent)} yuan")


if __name__ == "__main__":
    main()

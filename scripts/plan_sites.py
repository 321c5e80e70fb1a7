r"""A planner's siting script: where to build the next stations, year by year.

It uses carecircle's Python API the way a planner's own script would: it loads a district
(walking network, communities, facilities, population, candidate sites), chooses the sites for
the whole horizon with :func:`carecircle.siting.propose` (maximal covering for ``--per-year``
sites a year; budgeted covering for ``--budget-per-year`` yuan a year, each site paid for out of
one year's budget), and phases them year by year with :func:`carecircle.siting.phase`, each
year building first the sites that bring in the most older residents.

It writes into ``--out`` what ``carecircle site`` writes (the analysis, ``proposed_sites.csv``,
the before-and-after tables, ``siting.xlsx``, ``coverage.gpkg`` and ``map.html``) plus
``plan_by_year.csv``, and prints the plan. On the map, in the GeoPackage and in
``proposed_sites.csv`` each proposed site also carries its ``year`` to build, or its ``status``
when it is not planned, so that ``carecircle cost --facilities <out>/proposed_sites.csv`` counts
each site's construction in its year. Like a ``carecircle`` command, it is one run: ``--out``
(default a new folder, ``maps/plan-<date>-<time>``) is checked and locked before the district is
read, an earlier run's outputs there are refused unless ``--overwrite``, and the files are moved
in only when all are written.

Usage (the embedded demo district, three years of 400,000 yuan under 万州's subsidies)::

    python scripts/plan_sites.py --demo --policy wanzhou --budget-per-year 400000 --years 3

    python scripts/plan_sites.py --network district.osm.pbf --communities communities.gpkg \
        --facilities facilities.csv --population population.tif --candidates candidates.csv \
        --policy wanzhou --per-year 2 --years 3 --first-year 2027 --out plan/
"""

from __future__ import annotations

import argparse
import datetime
import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

from carecircle import inputs, network, outputs, pipeline, policy
from carecircle import siting as sites
from carecircle._cells import to_csv
from carecircle.coords import SYSTEMS
from carecircle.costing.rows import check_year_value
from carecircle.data import demo_files
from carecircle.errors import InputError
from carecircle.outputs import text
from carecircle.outputs._files import (
    PLAN_FILES,
    Interrupted,
    interruptible,
    output_names,
    run_folder,
)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        with interruptible():
            plan = _plan(args)
    except InputError as exc:
        print(f"plan_sites: error: {exc}", file=sys.stderr)
        return 2
    except (Interrupted, KeyboardInterrupt) as exc:
        return Interrupted.report(exc, "plan_sites")
    if plan.empty:
        hint = "a larger --budget-per-year or " if args.budget_per_year is not None else ""
        print(
            "no site planned: no candidate was kept (see the notes above); try "
            f"{hint}other --candidates"
        )
    else:
        print(_table(plan))
    return 0


def _table(plan: pd.DataFrame) -> str:
    """The plan as a terminal table whose Chinese columns line up (:func:`text.table`)."""
    cells = plan.astype(object).where(plan.notna(), "").astype(str)
    return text.table(cells.to_numpy().tolist(), header=[str(c) for c in plan.columns])


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", action="store_true", help="the embedded demo district")
    parser.add_argument("--network", type=Path, help="OSM PBF or carecircle .npz network")
    parser.add_argument("--communities", type=Path)
    parser.add_argument("--facilities", type=Path)
    parser.add_argument("--population", type=Path, help="population raster (optional)")
    parser.add_argument("--candidates", type=Path, help="candidate sites (default: generated)")
    for layer in ("community", "facility", "candidate"):
        parser.add_argument(f"--{layer}-coords", choices=SYSTEMS, default="wgs84")
    parser.add_argument("--speed-m-s", type=float, help="walking speed, m/s (default: policy's)")
    parser.add_argument("--policy", required=True, help="profile name or TOML file")
    parser.add_argument("--circle", default="eldercare")
    parser.add_argument("--tier", default="community_station")
    yearly = parser.add_mutually_exclusive_group(required=True)
    yearly.add_argument("--per-year", type=int, help="sites built each year")
    yearly.add_argument("--budget-per-year", type=float, help="yuan spent each year")
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--first-year", type=int, default=datetime.date.today().year)
    parser.add_argument("--time-limit-s", type=float, default=60.0)
    parser.add_argument(
        "--no-health-centre-preference",
        dest="prefer_health_centres",
        action="store_false",
        help="do not prefer, among equally good sites, those beside a health centre "
        "(医养结合, where the profile has [medical_integration])",
    )
    parser.add_argument("--out", type=Path, help="output folder (default: maps/plan-<time>)")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an earlier run's outputs in --out"
    )
    parser.add_argument("--lang", choices=("zh", "en"), default="zh", help="map and tables")
    return parser


def _plan(args: argparse.Namespace) -> pd.DataFrame:
    sites.check_phasing(
        years=args.years, per_year=args.per_year, budget_per_year=args.budget_per_year
    )
    # the years cost accepts, so that proposed_sites.csv can be costed (checked before reading)
    check_year_value(args.first_year, "--first-year")
    check_year_value(args.first_year + args.years - 1, "--first-year + --years - 1")
    files = _files(args)
    given = {f"--{name}": Path(path) for name, path in files.items()}
    with run_folder(
        args.out or Path("maps") / f"plan-{datetime.datetime.now():%Y%m%d-%H%M%S}",
        command="plan_sites",
        writes=output_names("plan_sites"),
        inputs={**given, "--candidates": args.candidates},
        overwrite=args.overwrite,
        numbered=args.out is None,
    ) as run:  # checked, locked and written into a temporary folder, moved in at the end
        plan, proposal = _phase(args, files, run.staging)
    solution = proposal.solution
    print(
        f"{len(proposal.sites)} site(s) for {args.years} year(s) ({proposal.mode}; "
        f"{solution.status}, gap {solution.gap:.2%}); written to {run.out}"
    )
    for note in proposal.notes:
        print(f"note: {note}")
    return plan


def _phase(
    args: argparse.Namespace, files: dict[str, Path], out: Path
) -> tuple[pd.DataFrame, sites.Proposal]:
    """Choose and phase the sites, and write everything into ``out``."""
    profile = policy.load(args.policy)
    horizon = (
        {"count": args.per_year * args.years}
        if args.per_year is not None
        else {"budget": args.budget_per_year * args.years, "years": args.years}
    )
    sites.check_question(
        profile,
        circle=args.circle,
        tier=args.tier,
        time_limit_s=args.time_limit_s,
        candidates_given=args.candidates is not None,
        **horizon,
    )
    net = network.read(files["network"])
    comm = inputs.read_communities(files["communities"], coords=args.community_coords)
    fac = inputs.read_facilities(files["facilities"], coords=args.facility_coords)
    prep = pipeline.prepare(
        net,
        comm,
        fac,
        policy=profile,
        population_raster=files.get("population"),
        speed_m_s=args.speed_m_s,
    )
    candidates = (
        inputs.read_candidates(args.candidates, coords=args.candidate_coords)
        if args.candidates
        else None
    )
    proposal = sites.propose(
        prep,
        candidates,
        policy=profile,
        circle=args.circle,
        tier=args.tier,
        time_limit_s=args.time_limit_s,
        prefer_health_centres=args.prefer_health_centres,
        **horizon,
    )
    plan = sites.phase(
        proposal,
        first_year=args.first_year,
        years=args.years,
        per_year=args.per_year,
        budget_per_year=args.budget_per_year,
    )
    phased = proposal.sites.join(plan.set_index("order")[["year", "status"]], on="order")
    analysis = sites.attach(
        pipeline.analyze(net, comm, fac, policy=profile, prepared=prep),
        proposal,
        proposed=phased,
    )
    outputs.write_all(analysis, out, lang=args.lang)
    outputs.build_map(analysis, lang=args.lang).save(str(out / PLAN_FILES["map"]))
    # proposed_sites.csv with each site's year (its opening year for `carecircle cost`)
    outputs.write_siting(replace(proposal, sites=phased), out, lang=args.lang)
    to_csv(plan, out / PLAN_FILES["plan_by_year"])
    return plan, proposal


def _files(args: argparse.Namespace) -> dict[str, Path]:
    """The district's files: the embedded demo's, or those given."""
    if args.demo:
        return demo_files()
    given = {
        "network": args.network,
        "communities": args.communities,
        "facilities": args.facilities,
    }
    missing = [f"--{name}" for name, path in given.items() if path is None]
    if missing:
        msg = f"give {', '.join(missing)} (or --demo for the embedded district)"
        raise InputError(msg)
    if args.population is not None:
        given["population"] = args.population
    return given


if __name__ == "__main__":
    sys.exit(main())

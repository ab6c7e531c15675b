"""The benchmark suite's one entry point: run workloads on tradewind, Airflow or both.

    python bench/run.py WORKLOAD [WORKLOAD...] --db sqlite|postgres [--repeat 3] [--smoke]
                        [--json] [--side tradewind|airflow]
                        [--executor local|celery-redis|celery-rabbitmq|kubernetes-standin]
    python bench/run.py compare [WORKLOAD...] --db postgres [--repeat 3]

WORKLOAD is one of chain, fanout, fanout_wide, lattice, many_dags, mapped, wide, light,
heavy, parse, idle, startup, soak (tradewind alone), or ``all``. ``compare`` runs both
sides on this machine, interleaved (per workload one side then the other, the first side
alternating), and puts their medians side by side. Every run prints a table and writes one
JSON file to bench/results/ (``--smoke``: tiny sizes, once, nothing written).
See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import os
import sys
import tempfile
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import common

SIDES = ("tradewind", "airflow")
INSTALL_SCRIPT = common.HERE / "airflow" / "install.py"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sides = {name: load_side(name, args.executor) for name in args.sides}
    if "airflow" in sides:
        check_airflow_installed()
    document = run(args, sides)
    print_tables(document)
    if args.json:
        print(json.dumps(document, indent=2))
    if not args.smoke:
        print(f"wrote {write(document)}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], usage=textwrap.dedent(__doc__.split("\n\n")[1])
    )
    parser.add_argument("workloads", nargs="+", metavar="WORKLOAD")
    parser.add_argument("--db", choices=["sqlite", "postgres"], required=True)
    parser.add_argument("--repeat", type=int, default=3, help="repetitions (default 3)")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, once, nothing written")
    parser.add_argument("--json", action="store_true", help="also print the JSON document")
    parser.add_argument("--side", choices=SIDES, help="the side to run (default tradewind)")
    parser.add_argument(
        "--executor",
        default="local",
        choices=["local", "celery-redis", "celery-rabbitmq", "kubernetes-standin"],
        help="tradewind's executor (celery: two local workers; kubernetes-standin: the "
        "Kubernetes API stand-in of tests/k8s_standin; see tradewind_side.py)",
    )
    args = parser.parse_args(argv)
    compare = args.workloads[0] == "compare"
    names = args.workloads[1:] if compare else args.workloads
    if compare and args.side is not None:
        parser.error("compare runs both sides: leave out --side")
    if args.executor != "local" and (compare or args.side == "airflow"):
        parser.error("--executor applies to tradewind alone")
    if not names or "all" in names:
        if not compare and not names:
            parser.error("name at least one workload (or all)")
        names = list(common.WORKLOADS)
    unknown = [name for name in names if name not in common.WORKLOADS]
    if unknown:
        parser.error(f"unknown workload {unknown[0]!r}; choose from {', '.join(common.WORKLOADS)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.workloads = list(dict.fromkeys(names))
    args.compare = compare
    args.sides = list(SIDES) if compare else [args.side or "tradewind"]
    args.repeat = 1 if args.smoke else args.repeat
    return args


def load_side(name: str, executor: str = "local") -> ModuleType:
    """A side's module, imported only when asked for (the Airflow side needs its own venv)."""
    if name == "tradewind":
        import tradewind_side

        tradewind_side.EXECUTOR = executor
        return tradewind_side
    try:
        import airflow_side
    except ImportError as exc:
        raise SystemExit(
            f"the Airflow side cannot be loaded (bench/airflow_side.py): {exc}"
        ) from exc
    return airflow_side


def check_airflow_installed() -> None:
    """Stop early, with the fix, when Airflow's venv is missing or holds another version."""
    spec = importlib.util.spec_from_file_location("bench_airflow_install", INSTALL_SCRIPT)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{INSTALL_SCRIPT} is missing")
    install = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(install)
    venv = install.venv_path()
    found = install.installed_version(venv)
    if found != install.AIRFLOW_VERSION:
        raise SystemExit(
            f"Apache Airflow {install.AIRFLOW_VERSION} is not installed in {venv} "
            f"(found: {found or 'nothing'}); run `.venv/bin/python bench/airflow/install.py`"
        )


def plan(workloads: list[str], sides: list[str]) -> list[tuple[str, str]]:
    """(workload, side) in run order: with two sides, the first one alternates per workload."""
    order = []
    for index, workload in enumerate(workloads):
        turn = sides if index % 2 == 0 else sides[::-1]
        if workload in common.TRADEWIND_ONLY:
            turn = [side for side in turn if side == "tradewind"]
        order += [(workload, side) for side in turn]
    return order


def run(args: argparse.Namespace, sides: dict[str, ModuleType]) -> dict[str, Any]:
    """Measure everything asked for; the JSON document of the results."""
    started = datetime.now(UTC)
    load_before = os.getloadavg()[0]
    # Before the runs: src/ may change under a long run; this is what the first one started.
    versions = {name: module.version() for name, module in sides.items()}
    values: dict[str, dict[str, list[dict[str, float]]]] = {side: {} for side in sides}
    with tempfile.TemporaryDirectory(prefix="tradewind-bench-") as tmp:
        for workload, side in plan(args.workloads, list(sides)):
            workdir = Path(tmp) / f"{side}-{workload}"
            workdir.mkdir()
            print(f"{workload} on {side} ({args.db}) ...", file=sys.stderr, flush=True)
            clock = time.monotonic()
            values[side][workload] = sides[side].measure(
                workload, db=args.db, repeat=args.repeat, smoke=args.smoke, workdir=workdir
            )
            print(f"  done in {time.monotonic() - clock:.0f} s", file=sys.stderr, flush=True)
    machine = common.machine()
    machine["load_average_1min"] = {"before": load_before, "after": os.getloadavg()[0]}
    return {
        "sides": list(sides),
        "db": args.db,
        "executor": args.executor,
        "repeat": args.repeat,
        "smoke": args.smoke,
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "versions": versions,
        "settings": {name: module.settings() for name, module in sides.items()},
        "sizes": dataclasses.asdict(common.sizes(args.smoke)),
        "results": {side: summarise(found) for side, found in values.items()},
    }


def summarise(found: dict[str, list[dict[str, float]]]) -> dict[str, Any]:
    """Per workload, per figure: every value and their min, median and max."""
    summary: dict[str, Any] = {}
    for workload, repetitions in found.items():
        summary[workload] = {}
        for figure in common.FIGURES[workload]:
            column = [rep[figure] for rep in repetitions]
            summary[workload][figure] = {"values": column, **common.summarise(column)}
    return summary


def print_tables(document: dict[str, Any]) -> None:
    sides, results = document["sides"], document["results"]
    load = document["machine"]["load_average_1min"]
    print(
        f"\n{' vs '.join(sides)} ({document.get('executor', 'local')} executor) on "
        f"{document['db']}, {document['repeat']} repetition(s), "
        f"{document['machine']['cpu_count']} CPUs, load {load['before']:.1f} -> {load['after']:.1f}"
    )
    width = 2 + max(len(figure) for figures in common.FIGURES.values() for figure in figures)
    for workload in results[sides[0]] | results[sides[-1]]:
        print(f"\n{workload}")
        print(f"  {'figure':<{width}}{'unit':<9}" + "".join(f"{s:>30}" for s in sides))
        print(f"  {'':<{width + 9}}" + f"{'min':>10}{'median':>10}{'max':>10}" * len(sides))
        for figure, (unit, _, _) in common.FIGURES[workload].items():
            cells = [results[side].get(workload, {}).get(figure) for side in sides]
            line = "".join(
                f"{fmt(c['min']):>10}{fmt(c['median']):>10}{fmt(c['max']):>10}"
                if c is not None
                else f"{'-':>10}" * 3
                for c in cells
            )
            print(f"  {figure:<{width}}{unit:<9}{line}")
    if len(sides) == 2:
        print_comparison(results)


def print_comparison(results: dict[str, Any]) -> None:
    """Medians side by side, tradewind / Airflow, and which of the two does better."""
    width = 2 + max(
        len(f"{workload} {figure}")
        for workload, figures in common.FIGURES.items()
        for figure in figures
    )
    print("\nmedians: tradewind / Airflow")
    print(f"  {'figure':<{width}}{'unit':<9}{'tradewind':>11}{'Airflow':>11}{'ratio':>9}  better")
    for workload in results["tradewind"]:
        if workload not in results["airflow"]:
            continue  # a workload of tradewind alone (common.TRADEWIND_ONLY)
        for figure, (unit, better, _) in common.FIGURES[workload].items():
            ours = results["tradewind"][workload][figure]["median"]
            theirs = results["airflow"][workload][figure]["median"]
            ratio = ours / theirs if theirs else float("nan")
            wins = ours < theirs if better == "lower" else ours > theirs
            verdict = f"{better} is better: {'tradewind' if wins else 'Airflow'}"
            print(
                f"  {workload + ' ' + figure:<{width}}{unit:<9}{fmt(ours):>11}{fmt(theirs):>11}"
                f"{ratio:>9.2f}  {verdict}"
            )


def fmt(value: float) -> str:
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def write(document: dict[str, Any]) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    executor = "" if document.get("executor", "local") == "local" else f"-{document['executor']}"
    name = f"{'-'.join(document['sides'])}{executor}-{document['db']}-{stamp}.json"
    target = common.RESULTS / name
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(document, indent=2) + "\n")
    return target


if __name__ == "__main__":
    sys.exit(main())

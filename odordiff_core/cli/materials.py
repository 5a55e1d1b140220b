"""`odordiff evaluate materials [--write]`: verify the trade-name and family tables against the data files."""
from __future__ import annotations

import argparse


def register_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("materials", help="trade-name table: share whose CAS leads to the same structure in the data "
                                         "files; table consistency (CAS, SMILES, names, family labels)")
    p.add_argument("--write", action="store_true",
                   help="rewrite the table's `verified` column with the verdicts computed now")
    p.set_defaults(func=_eval_materials)


def _eval_materials(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..datasets import TRADE_NAMES_TABLE
    from ..eval.materials import NOT_FOUND, evaluate_materials, write_verified

    ev = evaluate_materials(Settings.from_env())
    n = ev.n_rows
    print(f"trade names: {n} rows; CAS leads to the same structure (InChIKey connectivity) in a data file: "
          f"{ev.count('yes')}/{n} = {ev.verified_share:.1%}; another structure: {ev.count('mismatch')}; "
          f"CAS in no data file: {ev.count(NOT_FOUND)}")
    print(f"trade names whose CAS the IFRA 2019 glossary lists: {ev.n_in_ifra_glossary}/{n}")
    print(f"families: {ev.n_families} rows")
    for name, verdict in ev.verified:
        if not verdict.startswith("yes"):
            print(f"  not verified: {name}: {verdict}")
    for problem in ev.problems:
        print(f"  problem: {problem}")
    if args.write:
        changed = write_verified(ev)
        print(f"wrote the `verified` column of {TRADE_NAMES_TABLE} ({changed} cells changed)")
    elif ev.stale:
        print(f"{len(ev.stale)} stored `verified` cells differ from the verdicts computed now "
              f"(e.g. {', '.join(ev.stale[:3])}): run `odordiff evaluate materials --write`")
    return 1 if ev.problems else 0

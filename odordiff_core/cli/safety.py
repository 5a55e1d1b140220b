"""`odordiff screen`, `odordiff train properties`, `odordiff evaluate safety|properties`."""
from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("screen", help="safety screen: blocked / caution / no known issue per SMILES (a salt, "
                                      "hydrate or solution is screened per component; the worst verdict wins)")
    p.add_argument("smiles", nargs="*", help="SMILES strings (quote them)")
    p.add_argument("--file", help="text file with one SMILES per line")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.set_defaults(func=_screen)


def register_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("properties", help="fit the substantivity model (GoodScents hours on blotter)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_train_properties)


def register_evaluate(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("safety", help="flag rates on the IFRA list, EU allergens and IFRA glossary").set_defaults(func=_eval_safety)
    sub.add_parser("properties", help="boiling point and substantivity errors").set_defaults(func=_eval_properties)


def _screen(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..safety import load_screen, screen_smiles
    from .common import BATCH, Progress
    from .predictor import read_smiles_inputs

    texts = read_smiles_inputs(args)
    screen = load_screen(Settings.from_env())
    progress = Progress(len(texts), "molecules")
    n_valid = done = 0
    if args.format == "json":
        sys.stdout.write("[")
    for start in range(0, len(texts), BATCH):  # streamed: each batch is printed as soon as it is screened
        for r in screen_smiles(texts[start:start + BATCH], screen):
            n_valid += r["verdict"] != "invalid"
            if args.format == "json":
                sys.stdout.write(("\n" if done == 0 else ",\n") + json.dumps(r, indent=2))
            else:
                print(f"{r['verdict'].upper():<15} {r['smiles'] or r['input'][:60]}")
                for f in r["flags"]:
                    print(f"    [{f['level']}] {f['rule']}: {f['reason']}\n        source: {f['source']}")
            done += 1
        sys.stdout.flush()
        progress.update(done)
    if args.format == "json":
        print("\n]")
    return 0 if n_valid else 2  # "invalid": screen_smiles' unparsable row


def _train_properties(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..train.properties import train_properties

    config = train_properties(Settings.from_env(), seed=args.seed)
    print(json.dumps(config, indent=2))
    return 0


def _eval_properties(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..eval.properties import evaluate_properties

    ev = evaluate_properties(Settings.from_env())
    bp = ev.bp
    print(f"boiling point (Joback + Stein-Brown) on {bp['n']} literature values: MAE {bp['mae_c']:.1f} C, "
          f"bias {bp['bias_c']:+.1f} C, max {bp['max_abs_c']:.0f} C (worst: {', '.join(bp['worst'])})")
    print(f"boiling point vs GoodScents substantivity (n={ev.n_bp_substantivity}): "
          f"Spearman rho {ev.bp_substantivity_spearman:.2f}")
    for b in ev.notes:
        print(f"  {b.note:<5} n={b.n:4d}  substantivity median {b.median_h:5.0f} h (IQR {b.q25_h:.0f}-{b.q75_h:.0f})")
    cv = ev.cv
    print(f"substantivity ridge, {cv['folds']}-fold CV on {cv['n']} unique structures: MAE {cv['mae_hours']:.0f} h "
          f"vs {cv['mae_hours_median_baseline']:.0f} h predicting the median ({cv['median_hours']:.0f} h); "
          f"MAE log(h) {cv['mae_log']:.2f} vs {cv['mae_log_median_baseline']:.2f}; Spearman {cv['spearman']:.2f}")
    return 0


def _eval_safety(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..eval.safety import evaluate_safety

    ev = evaluate_safety(Settings.from_env())
    print(f"screen {ev.version}")
    print(f"IFRA list: {ev.ifra_hit}/{ev.n_ifra} flagged at their status (prohibited/EU-banned -> blocked, "
          f"restricted/specification -> caution or worse); structural rules alone flag {ev.ifra_structural}/{ev.n_ifra}")
    print(f"EU allergens with structures: {ev.eu_hit}/{ev.n_eu} caution or worse; "
          f"structural rules alone {ev.eu_structural}/{ev.n_eu}")
    n, n_block = ev.n_glossary, len(ev.glossary_blocked)
    print(f"IFRA glossary molecules not on the prohibited list: {n_block}/{n} blocked = {100 * n_block / n:.1f}% "
          f"(goal <= 3%); {ev.glossary_caution} caution; {ev.ms_per_molecule:.2f} ms per molecule")
    for b in ev.glossary_blocked:
        print(f"  blocked: {b}")
    return 0

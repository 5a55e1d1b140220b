"""`odordiff evaluate soundness`: the chemical-soundness screen on known molecules and generated ones."""
from __future__ import annotations

import argparse

from ..config import GENERATION


def register_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("soundness", help="share of known molecules and generated samples the soundness screen passes")
    p.add_argument("--evocative", type=int, default=15, metavar="N",
                   help="evocative prompts to generate for (default 15; 0 with --heldout 0: known molecules only)")
    p.add_argument("--heldout", type=int, default=5, metavar="N",
                   help="label sets of held-out molecules to generate for (default 5)")
    p.add_argument("--n", type=int, default=GENERATION.n,
                   help=f"candidates per prompt; {GENERATION.oversample}x as many are sampled (default {GENERATION.n})")
    p.add_argument("--seed", type=int, default=GENERATION.seed)
    p.set_defaults(func=_eval_soundness)


def _pct(k: int, n: int) -> str:
    return f"{k}/{n} = {100 * k / n:.1f}%" if n else f"{k}/0"


def _eval_soundness(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..eval.soundness import evaluate_soundness
    from ..pipeline import load_pipeline

    settings = Settings.from_env()
    ev = evaluate_soundness(load_pipeline(settings), settings, n_evocative=args.evocative, n_heldout=args.heldout,
                            n=args.n, seed=args.seed)
    print(f"screen {ev.version} ({ev.n_rules} rules); {ev.ms_per_molecule:.2f} ms per molecule")
    print(f"known molecules (every data file of the known-odorant index) sound: {_pct(ev.n_known_sound, ev.n_known)} "
          f"(goal >= 99%)")
    print(f"  with odor descriptors: {_pct(ev.n_described_sound, ev.n_described)}; "
          f"IFRA glossary ingredients: {_pct(ev.n_glossary_sound, ev.n_glossary)}")
    by_rule: dict[str, int] = {}
    for e in ev.exceptions:
        for r in e.rules:
            by_rule[r] = by_rule.get(r, 0) + 1
    print("  exceptions by rule: " + ", ".join(f"{r} {k}" for r, k in sorted(by_rule.items(), key=lambda x: -x[1])))
    for e in ev.exceptions:
        tags = "".join((" [described]" if e.described else "", " [IFRA glossary]" if e.in_ifra_glossary else ""))
        print(f"    {','.join(e.rules):<40} {e.smiles}  {e.name[:50]}{tags}")
    if not ev.prompts:
        return 0
    print(f"generated: {len(ev.prompts)} prompts x {ev.samples_per_prompt} samples (seed {args.seed}, app defaults), "
          f"{ev.minutes:.1f} min")
    print(f"  raw valid samples sound: {_pct(ev.n_raw_sound, ev.n_raw)} as written (goal >= 90%), "
          f"{_pct(ev.n_raw_sound + ev.n_raw_tautomer, ev.n_raw)} with those sound as their stable tautomer; "
          f"unique novel samples the screen passes (as written or as their stable tautomer): "
          f"{_pct(ev.n_novel_sound, ev.n_novel)}")
    print("  top failing rules among raw samples: " + ", ".join(f"{r} {k}" for r, k in ev.raw_by_rule[:8]))
    print(f"  returned candidates sound: {_pct(ev.n_returned_sound, ev.n_returned)}; without the screen "
          f"{_pct(ev.n_returned_unscreened_sound, ev.n_returned_unscreened)} "
          f"({', '.join(f'{r} {k}' for r, k in ev.unscreened_by_rule[:5]) or 'no failure'})")
    return 0

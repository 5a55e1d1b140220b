"""`odordiff screen`, `odordiff train properties`, `odordiff evaluate safety|properties`."""
from __future__ import annotations

import argparse
import json
import sys

# Normal boiling points (deg C, 1 atm) of common aroma chemicals, hand-entered from the CRC Handbook of Chemistry
# and Physics / PubChem experimental properties, used only to measure the Joback estimate (not to fit it).
BP_REFERENCE: tuple[tuple[str, str, float], ...] = (
    ("ethyl acetate", "CCOC(C)=O", 77), ("ethyl butyrate", "CCCC(=O)OCC", 121), ("hexanal", "CCCCCC=O", 131),
    ("alpha-pinene", "CC1=CCC2CC1C2(C)C", 155), ("cis-3-hexenol", "CC/C=C\\CCO", 156),
    ("limonene", "CC1=CCC(CC1)C(C)=C", 176), ("1,8-cineole", "CC12CCC(CC1)C(C)(C)O2", 176),
    ("benzaldehyde", "O=Cc1ccccc1", 179), ("1-octanol", "CCCCCCCCO", 195), ("nonanal", "CCCCCCCCC=O", 195),
    ("phenylacetaldehyde", "O=CCc1ccccc1", 195), ("linalool", "CC(C)=CCCC(C)(O)C=C", 198),
    ("acetophenone", "CC(=O)c1ccccc1", 202), ("camphor", "CC1(C)C2CCC1(C)C(=O)C2", 204),
    ("benzyl alcohol", "OCc1ccccc1", 205), ("decanal", "CCCCCCCCCC=O", 208), ("menthol", "CC(C)C1CCC(C)CC1O", 212),
    ("benzyl acetate", "CC(=O)OCc1ccccc1", 212), ("2-phenylethanol", "OCCc1ccccc1", 219),
    ("methyl salicylate", "COC(=O)c1ccccc1O", 222), ("citronellol", "CC(CCO)CCC=C(C)C", 225),
    ("citral", "CC(C)=CCCC(C)=CC=O", 229), ("geraniol", "CC(C)=CCC/C(C)=C/CO", 230),
    ("carvone", "CC1=CCC(CC1=O)C(C)=C", 231), ("thymol", "CC(C)c1ccc(C)cc1O", 232),
    ("anethole", "C/C=C/c1ccc(OC)cc1", 234), ("cinnamaldehyde", "O=C/C=C/c1ccccc1", 248),
    ("indole", "c1ccc2[nH]ccc2c1", 253), ("eugenol", "C=CCc1ccc(O)c(OC)c1", 254),
    ("methyl anthranilate", "COC(=O)c1ccccc1N", 256), ("isoeugenol", "C/C=C/c1ccc(O)c(OC)c1", 266),
    ("beta-ionone", "CC(=O)/C=C/C1=C(C)CCCC1(C)C", 267), ("gamma-decalactone", "CCCCCCC1CCC(=O)O1", 281),
    ("vanillin", "COc1cc(C=O)ccc1O", 285), ("diethyl phthalate", "CCOC(=O)c1ccccc1C(=O)OCC", 298),
    ("coumarin", "O=c1ccc2ccccc2o1", 301), ("hexyl cinnamaldehyde", "CCCCCC/C(=C/c1ccccc1)C=O", 305),
    ("benzyl benzoate", "O=C(OCc1ccccc1)c1ccccc1", 323),
)
_LIST_RULES = ("ifra.", "eu.", "t3db.", "analogue.")  # identity/similarity rules; the rest are structural


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("screen", help="safety screen: blocked / caution / no known issue per SMILES")
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
    from .predictor import read_smiles_inputs

    texts = read_smiles_inputs(args)
    results = screen_smiles(texts, load_screen(Settings.from_env()))
    if args.format == "json":
        json.dump(results, sys.stdout, indent=2)
        print()
    else:
        for r in results:
            print(f"{r['verdict'].upper():<15} {r['smiles'] or r['input'][:60]}")
            for f in r["flags"]:
                print(f"    [{f['level']}] {f['rule']}: {f['reason']}\n        source: {f['source']}")
    return 2 if all(r["verdict"] == "invalid" for r in results) else 0


def _bp_errors() -> dict:
    import numpy as np

    from ..chem import parse_smiles
    from ..properties import boiling_point_c

    est = np.array([boiling_point_c(parse_smiles(s)) for _, s, _ in BP_REFERENCE])
    ref = np.array([bp for _, _, bp in BP_REFERENCE])
    return {"n": len(ref), "mae_c": float(np.abs(est - ref).mean()), "bias_c": float((est - ref).mean()),
            "max_abs_c": float(np.abs(est - ref).max()),
            "worst": [BP_REFERENCE[i][0] for i in np.argsort(-np.abs(est - ref))[:3]]}


def _train_properties(args: argparse.Namespace) -> int:
    from safetensors.numpy import save_file

    from ..config import Settings
    from ..properties import FEATURES_VERSION, MODEL_DIR, fit_substantivity, load_substantivity_table

    settings = Settings.from_env()
    mols, hours, _ = load_substantivity_table(settings)
    models, figures = fit_substantivity(mols, hours, seed=args.seed)
    folder = settings.weights_dir / MODEL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    save_file({"coef": models.coef, "intercept": models.intercept, "mean": models.mean, "scale": models.scale},
              str(folder / "substantivity.safetensors"))
    bp = _bp_errors()
    config = {"version": models.version, "features_version": FEATURES_VERSION, "n_features": int(models.mean.shape[0]),
              "residual_sigma": models.residual_sigma, "max_hours": models.max_hours, "bp_mae_c": round(bp["mae_c"], 1),
              "seed": args.seed, "cv": figures, "boiling_point_validation": bp,
              "data": "GoodScents data_rw_odor.csv Substantivity (Hours) via data_rw_opl/stimuli CID -> molecules.csv"}
    (folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    print(json.dumps(config, indent=2))
    return 0


def _eval_properties(args: argparse.Namespace) -> int:
    import numpy as np
    from scipy.stats import spearmanr

    from ..config import Settings
    from ..properties import boiling_point_c, fit_substantivity, load_substantivity_table, note_from_bp

    settings = Settings.from_env()
    bp = _bp_errors()
    print(f"boiling point (Joback + Stein-Brown) on {bp['n']} literature values: MAE {bp['mae_c']:.1f} C, "
          f"bias {bp['bias_c']:+.1f} C, max {bp['max_abs_c']:.0f} C (worst: {', '.join(bp['worst'])})")
    mols, hours, _ = load_substantivity_table(settings)
    est = [boiling_point_c(m) for m in mols]
    ok = [i for i, b in enumerate(est) if b is not None]
    rho = spearmanr([est[i] for i in ok], hours[ok]).statistic
    print(f"boiling point vs GoodScents substantivity (n={len(ok)}): Spearman rho {rho:.2f}")
    for note in ("top", "heart", "base"):
        h = np.array([hours[i] for i in ok if note_from_bp(est[i]) == note])
        print(f"  {note:<5} n={len(h):4d}  substantivity median {np.median(h):5.0f} h (IQR {np.percentile(h, 25):.0f}-{np.percentile(h, 75):.0f})")
    _, cv = fit_substantivity(mols, hours, seed=0)
    print(f"substantivity ridge, {cv['folds']}-fold CV on {cv['n']} unique structures: MAE {cv['mae_hours']:.0f} h "
          f"vs {cv['mae_hours_median_baseline']:.0f} h predicting the median ({cv['median_hours']:.0f} h); "
          f"MAE log(h) {cv['mae_log']:.2f} vs {cv['mae_log_median_baseline']:.2f}; Spearman {cv['spearman']:.2f}")
    return 0


def _eval_safety(args: argparse.Namespace) -> int:
    import csv
    import time

    from ..chem import connectivity_key, to_mol
    from ..config import Settings
    from ..data import data_path
    from ..safety import EU_FILE, IFRA_FILE, is_eu_banned, load_screen

    settings = Settings.from_env()
    screen = load_screen(settings)
    print(f"screen {screen.version}")

    def rows(name: str) -> list[dict[str, str]]:
        with open(data_path(name, settings), newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    def structural(report) -> str:  # verdict from the structural rules alone (no list identity or analogue)
        levels = {f.level for f in report.flags if not f.rule.startswith(_LIST_RULES)}
        return "blocked" if "block" in levels else "caution" if "caution" in levels else "no known issue"

    ifra = rows(IFRA_FILE)
    hit = struct_hit = 0
    banned_keys = set()
    for r in ifra:
        mol = to_mol(r["smiles"])
        banned = r["ifra_status"] == "prohibited" or is_eu_banned(r)
        if banned:
            banned_keys.add(connectivity_key(mol))
        rep = screen.screen(mol)
        want = ("blocked",) if banned else ("blocked", "caution")
        hit += rep.verdict in want
        struct_hit += structural(rep) != "no known issue"
    print(f"IFRA list: {hit}/{len(ifra)} flagged at their status (prohibited/EU-banned -> blocked, "
          f"restricted/specification -> caution or worse); structural rules alone flag {struct_hit}/{len(ifra)}")
    eu = [r for r in rows(EU_FILE) if r["smiles"]]
    reps = [screen.screen(to_mol(r["smiles"])) for r in eu]
    n_eu = sum(r.verdict in ("blocked", "caution") for r in reps)
    n_eu_struct = sum(structural(r) != "no known issue" for r in reps)
    print(f"EU allergens with structures: {n_eu}/{len(eu)} caution or worse; structural rules alone {n_eu_struct}/{len(eu)}")
    gloss = rows("odor/ifra_2019/molecules.csv")
    t0 = time.perf_counter()
    n = n_block = n_caution = 0
    blocked = []
    for r in gloss:
        mol = to_mol(r["IsomericSMILES"])
        if mol is None or connectivity_key(mol) in banned_keys:
            continue
        rep = screen.screen(mol)
        n += 1
        n_caution += rep.verdict == "caution"
        if rep.verdict == "blocked":
            n_block += 1
            blocked.append(f"{r['name']} ({', '.join(f.rule for f in rep.flags if f.level == 'block')})")
    ms = (time.perf_counter() - t0) / max(n, 1) * 1000
    print(f"IFRA glossary molecules not on the prohibited list: {n_block}/{n} blocked = {100 * n_block / n:.1f}% "
          f"(goal <= 3%); {n_caution} caution; {ms:.2f} ms per molecule")
    for b in blocked:
        print(f"  blocked: {b}")
    return 0

"""`odordiff predict`, `odordiff train predictor`, `odordiff evaluate predictor`."""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import replace


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="odor profile (and safety, properties) of molecules given as SMILES")
    p.add_argument("smiles", nargs="*", help="one or more SMILES")
    p.add_argument("--file", help="text file with one SMILES per line")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--top", type=int, default=5, help="descriptors shown per molecule in table/csv (default 5)")
    p.set_defaults(func=_predict)


def register_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predictor", help="retrain the odor predictor on the GS-LF set (a few minutes)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--known-scores-only", action="store_true",
                   help="do not retrain: score the GS-LF odorants with the shipped weights and write "
                        "known_scores.safetensors (the fit percentile's reference; about 10 s)")
    p.set_defaults(func=_train)


def register_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predictor", help="cross-validated mean per-label ROC-AUC (retrains in every fold)")
    p.add_argument("--split", choices=("random", "scaffold"), default="random")
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=11, help="fold and training seed (one run)")
    p.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                   help="several seeds, e.g. --seeds 0 1 2: one full cross-validation each, then the mean over seeds")
    p.add_argument("--only-folds", metavar="LIST", help="comma-separated folds to score (screening), default all")
    p.add_argument("--extra-sources", metavar="LIST",
                   help="label sources mapped onto the 138 labels for the training folds (comma-separated: ifra, "
                        "goodscents, leffingwell; 'none' for GS-LF alone); default: the recipe's")
    p.add_argument("--extra-task-min", type=int, metavar="N",
                   help="also learn each unmapped raw term of the extra sources recorded for >= N GS-LF molecules as "
                        "an extra task (0 = none); default: the recipe's")
    p.add_argument("--label-mix", type=float, metavar="X",
                   help="share of the label co-occurrence vote in the probability of a query identical to a training "
                        "molecule, 0..1 (with --constant-shares: of every query, 0 = off); default: the recipe's")
    p.add_argument("--constant-shares", action="store_true",
                   help="the neighbour vote's weight and the label mix's share as constants, as before they followed "
                        "the query's nearest training similarity (the previous recipe, for comparison)")
    p.add_argument("--graph-weight", type=float, metavar="W",
                   help="share of the message-passing member in the members' mean (0: without it, the recipe before "
                        "2026-12-01); default: the recipe's")
    p.add_argument("--members", type=int, metavar="N", help="MLP members of the ensemble (>= 2); default: the recipe's")
    p.add_argument("--transfer", action="store_true",
                   help="instead of cross-validation: train on all of GS-LF and score the IFRA glossary molecules that "
                        "GS-LF lacks (their descriptors mapped onto the labels), beside a Morgan logistic regression")
    p.set_defaults(func=_evaluate)
    c = sub.add_parser("confidence", help="held-out quality of the predictor's high / medium / low confidence levels "
                                          "(retrains in each fold scored)")
    c.add_argument("--split", choices=("random", "scaffold"), default="scaffold")
    c.add_argument("--folds", type=int, default=5, help="folds the data is split into")
    c.add_argument("--score-folds", default="0,1", help="comma-separated folds to hold out and score, one retraining "
                                                         "each (default 0,1: about 3 minutes on 2 quiet cores)")
    c.add_argument("--seed", type=int, default=11)
    c.add_argument("--save", metavar="FILE", help="also write the held-out arrays (.npz) for choosing thresholds")
    c.add_argument("--load", metavar="FILE", help="print the tables from arrays written by --save (no retraining)")
    c.set_defaults(func=_evaluate_confidence)


def read_smiles_inputs(args: argparse.Namespace) -> list[str]:
    """Returns the SMILES given on the command line followed by those in --file (one per line).

    Raises InvalidInput when the file cannot be read, is not UTF-8, holds more than MAX_INPUT_LINES lines, or
    nothing was given.
    """
    from ..errors import InvalidInput
    from .common import read_lines

    items = list(args.smiles)
    if args.file:
        items += [text for _, text in read_lines(args.file, "one SMILES per line")]
    if not items:
        raise InvalidInput("No SMILES given. Pass SMILES as arguments or --file FILE (one per line), "
                           "e.g. 'CC(C)=CCCC(C)(O)C=C'.")
    return items


def report_batches(reporter, texts: list[str]):
    """Yields the reports of `texts` in input order, BATCH molecules at a time (one predictor call per batch);
    an unparsable input gives a report with `error` set."""
    from ..chem import parse_smiles
    from ..errors import InvalidSmiles
    from ..report import MoleculeReport
    from .common import BATCH

    for start in range(0, len(texts), BATCH):
        chunk = texts[start:start + BATCH]
        out: list = [None] * len(chunk)
        mols, idx = [], []
        for i, text in enumerate(chunk):
            try:
                mols.append(parse_smiles(text))
                idx.append(i)
            except InvalidSmiles as exc:
                out[i] = MoleculeReport(input=text, smiles=None, error=str(exc))
        for i, rep in zip(idx, reporter.report_mols(mols, [chunk[i] for i in idx]) if mols else []):
            out[i] = rep
        yield out


def _predict(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..errors import InvalidInput
    from ..report import load_reporter
    from .common import Progress, safe_cells

    if args.top < 1:
        raise InvalidInput(f"--top must be at least 1, got {args.top}.")
    texts = read_smiles_inputs(args)
    reporter = load_reporter(Settings.from_env())
    progress = Progress(len(texts), "molecules")
    w = csv.writer(sys.stdout, lineterminator="\n")
    n_ok = done = 0
    if args.format == "json":
        sys.stdout.write("[")
    elif args.format == "csv":
        w.writerow(["input", "smiles", "top_descriptors", "verdict", "mw", "clogp", "note", "error"])
    for batch in report_batches(reporter, texts):
        for r in batch:
            n_ok += not r.error
            if args.format == "json":
                sys.stdout.write(("\n" if done == 0 else ",\n") + json.dumps(r.to_json(), indent=1))
            elif args.format == "csv":
                w.writerow(safe_cells(r.summary_row(args.top)))
            else:
                sys.stdout.write(r.to_text(args.top) + "\n\n")
            done += 1
        sys.stdout.flush()
        progress.update(done)
    if args.format == "json":
        sys.stdout.write("\n]\n")
    return 0 if n_ok else 2


def _train(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..datasets import GSLF_FILE, load_labelled
    from ..features import featurize
    from ..odor import PREDICTOR_DIR, PredictorConfig, ensemble_proba, load_predictor, recipe_graphs
    from ..train.predictor import recipe_extra, save_known_scores, save_predictor, train_ensemble

    settings = Settings.from_env()
    out_dir = settings.weights_dir / PREDICTOR_DIR
    t0 = time.perf_counter()
    data = load_labelled(settings)
    print(f"{len(data.mols)} molecules, {len(data.labels)} labels ({data.n_invalid} invalid rows left out)")
    X = featurize(data.mols)
    if not args.known_scores_only:
        cfg = PredictorConfig(seed=args.seed)
        extra = recipe_extra(settings, data, cfg)
        ens = train_ensemble(X, data.Y, cfg, extra=extra, graphs=recipe_graphs(cfg, data.mols))
        version = save_predictor(ens, data.labels, cfg, out_dir,
                                 {"trained_on": GSLF_FILE, "n_molecules": len(data.mols),
                                  "n_invalid_rows": data.n_invalid})
        print(f"wrote {out_dir} ({version}) in {time.perf_counter() - t0:.0f} s")
    # Scored by the predictor as the runtime loads it (fp16 weights, neighbour memory of all molecules), so a known
    # odorant here and a candidate at request time get the same numbers. Refuses a feature or label mismatch.
    predictor = load_predictor(settings)
    probs, _ = ensemble_proba(predictor.ensemble, X, predictor.graphs(data.mols))
    path = save_known_scores(probs, predictor.version, out_dir,
                             {"data_file": GSLF_FILE, "n_molecules": str(len(data.mols))})
    print(f"wrote {path} (known-odorant scores of {predictor.version}, {probs.shape[0]} x {probs.shape[1]}) "
          f"in {time.perf_counter() - t0:.0f} s")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    import numpy as np

    from ..config import Settings
    from ..datasets import load_labelled
    from ..eval.predictor import SeedResult, cross_validate, make_folds
    from ..features import featurize
    from ..odor import PredictorConfig, recipe_graphs
    from ..train.predictor import load_extra

    t0 = time.perf_counter()
    seeds = args.seeds or [args.seed]
    only = _fold_list(args.only_folds, args.folds, "--only-folds") if args.only_folds else None
    cfg0 = PredictorConfig()
    if args.label_mix is not None:
        if not 0.0 <= args.label_mix <= 1.0:
            print(f"odordiff: --label-mix must be between 0 and 1, got {args.label_mix}", file=sys.stderr)
            return 2
        cfg0 = replace(cfg0, label_mix=args.label_mix)
    if args.constant_shares:
        cfg0 = replace(cfg0, label_mix_far=None, knn_by_similarity=False)
    if args.graph_weight is not None:
        if not 0.0 <= args.graph_weight < 1.0:
            print(f"odordiff: --graph-weight must be at least 0 and below 1, got {args.graph_weight}", file=sys.stderr)
            return 2
        cfg0 = replace(cfg0, graph_weight=args.graph_weight)
    if args.members is not None:
        if args.members < 2:
            print(f"odordiff: --members must be at least 2 (their spread is the uncertainty), got {args.members}",
                  file=sys.stderr)
            return 2
        cfg0 = replace(cfg0, members=args.members)
    sources = cfg0.extra_sources if args.extra_sources is None else _source_list(args.extra_sources)
    task_min = cfg0.extra_task_min if args.extra_task_min is None else args.extra_task_min
    settings = Settings.from_env()
    data = load_labelled(settings)
    X = featurize(data.mols)  # once for every seed
    graphs = recipe_graphs(cfg0, data.mols)
    n = len(data.mols)
    if args.transfer:
        return _transfer(settings, data, X, graphs, tuple(s for s in sources if s != "ifra"), task_min, t0, cfg0)
    extra = None
    if sources:
        extra, counts = load_extra(settings, data, sources, aux_min=task_min)
        print(f"extra tasks: {len(extra.tasks)} (raw terms recorded for >= {task_min} GS-LF molecules)" if task_min
              else "extra tasks: none")
        for c in counts:
            print(f"extra labels from {c.source}: {c.records} records, {c.new_positives} new positives on GS-LF "
                  f"molecules (training folds only), {c.outside_molecules} molecules outside GS-LF")
    print(f"split={args.split} folds={args.folds} seeds={','.join(map(str, seeds))} molecules={n} "
          f"(invalid rows left out: {data.n_invalid}) ensemble={cfg0.members} x MLP({cfg0.hidden}) "
          f"+ {cfg0.blend_text()} "
          f"extra sources: {','.join(sources) or 'none'} extra-task-min={task_min}", flush=True)

    def show(r) -> None:
        print(f"{r.fold:>4} {r.n_train:>6} {r.n_test:>6} {r.n_labels_scored:>6} {r.mean_auroc:>7.4f} "
              f"{r.ece:>7.4f} {r.brier:>7.4f} {r.seconds:>5.0f}s", flush=True)

    runs = []
    for seed in seeds:
        print(f"seed={seed}\n{'fold':>4} {'train':>6} {'test':>6} {'labels':>6} {'AUROC':>7} {'ECE':>7} {'Brier':>7} "
              f"{'time':>6}", flush=True)
        folds = make_folds(args.split, data.mols, args.folds, seed)
        res = SeedResult(seed, tuple(cross_validate(X, data.Y, folds, replace(cfg0, seed=seed), report=show,
                                                     extra=extra, only_folds=only, graphs=graphs)))
        print(f"seed {seed}: mean {res.mean_auroc:.4f} ± {res.std_auroc:.4f} (std over folds); "
              f"ECE {np.mean([r.ece for r in res.folds]):.4f}", flush=True)
        runs.append(res)
    means = np.array([r.mean_auroc for r in runs])
    print("per seed: " + ", ".join(f"{r.seed}: {r.mean_auroc:.4f} ± {r.std_auroc:.4f}" for r in runs))
    print(f"mean over seeds {means.mean():.4f} (min {means.min():.4f}, max {means.max():.4f}); "
          f"total {time.perf_counter() - t0:.0f} s")
    print(f"MEAN_AUROC={means.mean():.4f}")
    return 0


def _transfer(settings, data, X, graphs, sources: tuple[str, ...], task_min: int, t0: float, cfg) -> int:
    """`evaluate predictor --transfer`: GS-LF (plus `sources`, never IFRA) -> the IFRA molecules outside GS-LF."""
    from ..chem import connectivity_key
    from ..datasets import raw_label_sources
    from ..eval.predictor import transfer_check
    from ..train.predictor import build_extra, load_extra, load_label_map

    keys = [connectivity_key(m) for m in data.mols]
    test, test_mols, _ = build_extra(keys, data.Y, load_label_map(data.labels),
                                     {"ifra": raw_label_sources(settings)["ifra"]})
    leave_out = frozenset(connectivity_key(m) for m in test_mols)
    extra = load_extra(settings, data, sources, leave_out, task_min)[0] if sources else None
    print(f"transfer: train on GS-LF ({len(data.mols)} molecules) + extra sources {','.join(sources) or 'none'}; "
          f"test on {len(test_mols)} IFRA glossary molecules not in GS-LF (descriptors mapped by label_map.csv)",
          flush=True)
    r = transfer_check("ifra", X, data.Y, data.mols, test_mols, test.Y, cfg, extra, graphs)
    print(f"labels scored {r.n_labels_scored}: ensemble AUROC {r.ensemble_auroc:.4f}, Morgan logistic regression "
          f"{r.baseline_auroc:.4f}; total {time.perf_counter() - t0:.0f} s")
    print(f"TRANSFER_AUROC={r.ensemble_auroc:.4f} BASELINE_AUROC={r.baseline_auroc:.4f}")
    return 0


def _source_list(text: str) -> tuple[str, ...]:
    """Returns the label sources of a comma-separated list ('none' = no source); InvalidInput for an unknown one."""
    from ..errors import InvalidInput
    from ..train.predictor import EXTRA_SOURCES

    sources = tuple(x.strip() for x in text.split(",") if x.strip() and x.strip() != "none")
    if set(sources) - set(EXTRA_SOURCES):
        raise InvalidInput(f"Unknown label source(s) in {text!r}; choose from {', '.join(EXTRA_SOURCES)} or none.")
    return sources


def _fold_list(text: str, k: int, option: str) -> list[int]:
    """Returns the fold numbers of a comma-separated list; InvalidInput when one is not in 0..k-1."""
    from ..errors import InvalidInput

    use = [int(f) for f in text.split(",") if f.strip().isdigit()]
    if not use or any(not 0 <= f < k for f in use):
        raise InvalidInput(f"{option} must list fold numbers from 0 to {k - 1}, got {text!r}.")
    return use


def _evaluate_confidence(args: argparse.Namespace) -> int:
    import dataclasses

    import numpy as np

    from ..config import Settings
    from ..eval.confidence import HeldOut, describe, held_out_predictions, level_table
    from ..scores import CONFIDENCE

    t0 = time.perf_counter()
    use = _fold_list(args.score_folds, args.folds, "--score-folds")
    if args.load:
        with np.load(args.load) as z:
            held = HeldOut(z["probs"], z["spread"], z["similarity"], z["Y"], z["fold"])
        print(f"held-out arrays from {args.load} (folds {sorted(set(held.fold.tolist()))}) thresholds={CONFIDENCE}")
    else:
        from ..datasets import load_labelled
        from ..eval.predictor import make_folds
        from ..features import featurize
        from ..odor import PredictorConfig, recipe_graphs
        from ..train.predictor import recipe_extra

        settings = Settings.from_env()
        data = load_labelled(settings)
        X = featurize(data.mols)
        n = len(data.mols)
        folds = make_folds(args.split, data.mols, args.folds, args.seed)
        cfg = PredictorConfig(seed=args.seed)
        extra = recipe_extra(settings, data, cfg)
        print(f"split={args.split} folds={args.folds} scored={use} seed={args.seed} molecules={n} "
              f"extra sources: {','.join(cfg.extra_sources) or 'none'} blend: {cfg.blend_text()} thresholds={CONFIDENCE}")
        held = held_out_predictions(X, data.Y, folds, cfg, use, report=lambda s: print(s, flush=True), extra=extra,
                                    graphs=recipe_graphs(cfg, data.mols))
        if args.save:
            np.savez_compressed(args.save, probs=held.probs, spread=held.spread, similarity=held.similarity,
                                Y=held.Y, fold=held.fold)
    print(describe(held))
    similarity_only = dataclasses.replace(CONFIDENCE, high_spread=float("inf"), low_spread=float("inf"))
    for title, thresholds in (("shipped thresholds", CONFIDENCE), ("similarity alone (spread ignored)",
                                                                   similarity_only)):
        print(f"{title}:\n{'level':<7} {'molecules':>9} {'share':>6} {'mol AUROC':>9} {'top-3 hit':>9} "
              f"{'label AUROC':>11}")
        for r in level_table(held, thresholds):
            print(f"{r.level:<7} {r.n:>9} {r.n / len(held.Y):>6.1%} {r.molecule_auroc:>9.3f} {r.top3_hit:>9.1%} "
                  f"{r.label_auroc:>11.3f}")
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0

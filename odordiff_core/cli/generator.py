"""`odordiff generate`, `odordiff train generator`, `odordiff evaluate generator`."""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from dataclasses import replace
from pathlib import Path

from ..config import GENERATION

CSV_COLUMNS = ("prompt_id", "prompt", "rank", "smiles", "fit_percentile", "confidence", "odor_match", "top_descriptors",
               "novel",
               "nearest_known_smiles", "nearest_known_name", "nearest_similarity", "safety", "model_version", "seed")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="design new candidate molecules from a prompt (diffusion model + ranking)")
    p.add_argument("prompt", nargs="?", help='e.g. "a clean citrus top note"')
    p.add_argument("--prompts-file", metavar="FILE", help="JSON Lines with `id` and `text`; one model load for all")
    p.add_argument("--n", type=int, default=GENERATION.n, help=f"candidates per prompt (default {GENERATION.n})")
    p.add_argument("--seed", type=int, default=GENERATION.seed,
                   help=f"same prompt + seed + model => same output (default {GENERATION.seed})")
    p.add_argument("--guidance", type=float, default=GENERATION.guidance,
                   help=f"classifier-free guidance scale (default {GENERATION.guidance})")
    p.add_argument("--exploration", type=float, default=GENERATION.exploration,
                   help="how far from known materials, 0..1: edit the known odorants whose descriptors best match the "
                        f"prompt, re-masking this share of their tokens, at least {GENERATION.min_remasked} (0.2: close "
                        "analogues); 1 = de novo "
                        f"(default {GENERATION.exploration})")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of stdout")
    p.set_defaults(func=_generate)


def register_train(sub: argparse._SubParsersAction) -> None:
    # every recipe flag defaults to None = TrainConfig's value (the shipped weights' recipe): the CLI overrides
    # only what the user passes, and parsing does not import torch
    recipe = "default: TrainConfig's, the shipped weights' recipe"
    p = sub.add_parser("generator", help="train the diffusion generator with the shipped weights' recipe (resumable; "
                                         "one CUDA GPU with bf16; on a CPU pass --device cpu --no-bf16 and more minutes)")
    p.add_argument("--out-dir", metavar="DIR", help="checkpoint folder (default: <weights>/generator)")
    p.add_argument("--data-file", default="runs/generator_data.pt", help="tokenised corpus (built when missing)")
    p.add_argument("--max-minutes", type=float, help=f"wall-clock budget ({recipe})")
    p.add_argument("--max-steps", type=int, help=recipe)
    p.add_argument("--device", help=f"cpu or cuda ({recipe})")
    p.add_argument("--bf16", action=argparse.BooleanOptionalAction, help=f"bf16 autocast ({recipe})")
    p.add_argument("--machine", help="which machine trains, recorded in config.json")
    p.add_argument("--no-resume", action="store_true", help="start over even if a train_state.pt exists")
    p.set_defaults(func=_train)


def register_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generator", help="OdorDiff vs RANDOM, RETRIEVE+MUTATE(+RERANK) with an independent oracle")
    p.add_argument("--n", type=int, default=GENERATION.n)
    p.add_argument("--seed", type=int, default=GENERATION.seed)
    p.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                   help="run the evaluation once per seed, then print the goals' figures per seed and their mean "
                        "(instead of --seed)")
    p.add_argument("--heldout-prompts", type=int, default=40, help="held-out molecules' label sets used as prompts")
    p.add_argument("--evocative-prompts", type=int, default=10, help="perfumer prompts read by the interpreter (max 20)")
    p.add_argument("--guidance", type=float, default=None, help=f"default: the pipeline's ({GENERATION.guidance})")
    p.add_argument("--exploration", type=float, nargs="+", default=[], metavar="X",
                   help="also run OdorDiff at these exploration values, 0..1 (one method each; 1 = de novo)")
    p.add_argument("--steps", type=int, default=GENERATION.steps,
                   help=f"sampler steps for every OdorDiff method (default {GENERATION.steps}, the shipped default)")
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p.set_defaults(func=_evaluate)


def _read_prompts(args) -> list[tuple[str, str]]:
    """Returns (id, text) of every prompt: the PROMPT argument or the --prompts-file rows.

    The whole file is checked before any model loads (missing or non-UTF-8 file, a row that is not
    {"id", "text": string}, a lone surrogate, more than MAX_INPUT_LINES rows), so a batch never dies halfway.
    """
    from ..errors import InvalidInput
    from .common import check_text, read_lines

    if args.prompts_file:
        out = []
        for i, line in read_lines(args.prompts_file, 'one JSON object {"id": ..., "text": ...} per line'):
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or not isinstance(row["text"], str):
                    raise TypeError
                out.append((str(row["id"]), row["text"]))
            except (json.JSONDecodeError, KeyError, TypeError, RecursionError):
                raise InvalidInput(f"{args.prompts_file} line {i} is not a JSON object with `id` and a string "
                                   f"`text`: {line[:80]!r}") from None
            check_text(out[-1][0] + out[-1][1], f"{args.prompts_file} line {i}")
        if not out:
            raise InvalidInput(f"{args.prompts_file} holds no prompt; write one JSON object with `id` and `text` per line.")
        return out
    if not args.prompt:
        raise InvalidInput('Give a prompt, e.g. odordiff generate "a clean citrus top note", or --prompts-file FILE.')
    return [("1", check_text(args.prompt, "the prompt"))]


def _rows(prompt_id: str, res) -> list[dict]:
    return [{"prompt_id": prompt_id, "prompt": res.request.prompt, "rank": c.rank, "smiles": c.smiles,
             "fit_percentile": round(c.fit_percentile, 1) if c.fit_percentile is not None else "",
             "confidence": str(c.confidence) if c.confidence is not None else "",
             "odor_match": round(c.odor_match, 4), "top_descriptors": ";".join(c.top_descriptors), "novel": c.novel,
             "nearest_known_smiles": c.nearest.smiles if c.nearest else "",
             "nearest_known_name": (c.nearest.name or "") if c.nearest else "",
             "nearest_similarity": round(c.nearest.similarity, 3) if c.nearest else "",
             "safety": c.safety.verdict, "model_version": c.model_version, "seed": c.seed} for c in res.candidates]


def _table(pid: str, res) -> str:
    from ..scores import percent_text

    buf = io.StringIO()
    it = res.interpretation
    buf.write(f"prompt {pid}: {res.request.prompt}\n")
    if it is not None:
        buf.write("targets: " + ", ".join(f"{k} {v:.2f}" for k, v in list(it.weights.items())[:8]) +
                  (f"; excluded: {', '.join(it.excluded)}" if it.excluded else "") + "\n")
    buf.write(f"{'#':>3}  {'fits better than':>16}  {'conf':<6}  {'smiles':<40} {'top descriptors':<44} {'nearest known (Tanimoto)':<30} safety\n")
    for r in _rows(pid, res):
        near = (f"{(r['nearest_known_name'] or r['nearest_known_smiles'])[:22]} ({r['nearest_similarity']:.2f})"
                if r["nearest_known_smiles"] else "not computed")
        fit = f"{percent_text(r['fit_percentile'])} of known" if r["fit_percentile"] != "" else "not computed"
        buf.write(f"{r['rank']:>3}  {fit:>16}  {r['confidence'] or 'n/a':<6}  {r['smiles'][:40]:<40} "
                  f"{r['top_descriptors'].replace(';', ', ')[:44]:<44} {near:<30} {r['safety']}\n")
    buf.write(f"sampled {res.n_sampled}, valid {res.n_valid}, unique {res.n_unique}, novel {res.n_novel}, "
              f"blocked {res.n_blocked}; exploration {res.request.exploration:g}; model {res.model_version}\n")
    if res.message:
        buf.write(f"note: {res.message}\n")
    return buf.getvalue() + "\n"


def _generate(args) -> int:
    from ..config import Settings
    from ..errors import InvalidInput
    from ..pipeline import GenerateRequest, load_pipeline
    from .common import check_writable, open_output, safe_cells

    # everything a user can get wrong is checked before the model loads and the first molecule is sampled
    settings = Settings.from_env()
    prompts = _read_prompts(args)
    if args.out:
        check_writable(args.out)
    requests = []
    for pid, text in prompts:
        try:
            requests.append((pid, GenerateRequest(prompt=text, n=args.n, seed=args.seed, guidance=args.guidance,
                                                  exploration=args.exploration)))
        except InvalidInput as exc:
            raise InvalidInput(f"prompt {pid}: {exc}" if len(prompts) > 1 else str(exc)) from None
    pipe = load_pipeline(settings)
    out = open_output(args.out)
    w = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    n_candidates = n_done = failed = 0
    try:
        if args.format == "json":
            out.write("[")
        elif args.format == "csv":
            w.writeheader()
        for pid, req in requests:  # streamed: each prompt's rows are written as soon as it is ranked
            try:
                res = pipe.generate(req)
            except InvalidInput as exc:  # one bad prompt (e.g. no descriptor) does not stop the batch
                failed += 1
                print(f"error: prompt {pid}: {exc}", file=sys.stderr)
                continue
            if args.format == "json":
                out.write(("\n" if n_done == 0 else ",\n") + json.dumps({"prompt_id": pid, **res.to_json()}, indent=1))
            elif args.format == "csv":
                for row in _rows(pid, res):
                    w.writerow(dict(zip(CSV_COLUMNS, safe_cells(row[c] for c in CSV_COLUMNS))))
            else:
                out.write(_table(pid, res))
            out.flush()
            n_done += 1
            n_candidates += len(res.candidates)
        if args.format == "json":
            out.write("\n]\n")
    finally:
        if out is not sys.stdout:
            out.close()
    if args.out:
        print(f"wrote {n_candidates} candidates for {n_done} prompt(s) to {args.out}", file=sys.stderr)
    return 2 if failed else 0


def _train(args) -> int:
    from ..config import Settings
    from ..train.generator import TrainConfig, prepare_corpus, train

    settings = Settings.from_env()
    out_dir = Path(args.out_dir) if args.out_dir else Path(settings.weights_dir) / "generator"
    data = Path(args.data_file)
    if not data.is_file():
        print(f"preparing {data} ...", flush=True)
        print(prepare_corpus(settings, data), flush=True)
    passed = {"max_steps": args.max_steps, "max_minutes": args.max_minutes, "device": args.device,
              "bf16": args.bf16, "machine": args.machine}
    cfg = TrainConfig(**{k: v for k, v in passed.items() if v is not None})
    rec = train(data, out_dir, cfg, resume=not args.no_resume, log=lambda s: print(s, flush=True))
    print(f"done: {rec['steps']} steps, best held-out loss {rec['best_heldout_loss']:.4f}, {rec['minutes']} min; "
          f"weights in {out_dir}")
    return 0


def _fmt(x) -> str:
    return "n/a" if x is None else f"{x:.2f}" if isinstance(x, float) else str(x)


def _print_by_similarity(bs: dict) -> None:
    """Prints the per-bin table of `evaluate()["by_similarity"]` and, per OdorDiff method, the issue's goal."""
    min_n = bs["min_n"]
    width = max(len(r["method"]) for r in bs["rows"]) + 2
    print(f"\nby nearest-known similarity ({bs['similarity']}, {bs['n_known']} molecules); {bs['pooling']}")
    print(f"{'bin':<9}{'method':<{width}}{'n':>6}{'adherence':>11}{'hit5':>7}{'odorant_like':>14}{'sound':>7}")
    for r in bs["rows"]:
        print(f"{r['bin']:<9}{r['method']:<{width}}{r['n']:>6}{_fmt(r['adherence']):>11}{_fmt(r['hit5']):>7}"
              f"{_fmt(r['odorant_like']):>14}{_fmt(r['sound']):>7}")
    for c in bs["comparisons"]:
        ref = c["reference"]
        bins = ", ".join(f"{b}: {'n < ' + str(min_n) if w is None else 'OdorDiff' if w == c['method'] else w}"
                         for b, w in c["bins"].items())
        print(f"goal {'MET' if c['met'] else 'not met'}: {c['method']} adherence >= {ref} overall "
              f"({'yes' if c['overall'] else 'no' if c['overall'] is False else 'n/a'}) and per bin ({bins})")
        if c["margins"]:
            margins = ", ".join(f"{b} {d:+.3f} [{lo:+.3f}, {hi:+.3f}]" for b, (d, lo, hi) in c["margins"].items())
            print(f"  margin per bin, this method minus the reference [95 % interval, prompts resampled]: {margins}")


def _evaluate(args) -> int:
    from ..config import Settings
    from ..eval.generator import evaluate, seed_summary
    from ..pipeline import load_pipeline

    settings = Settings.from_env()
    if args.steps < 1:
        print(f"odordiff: --steps must be at least 1, got {args.steps}", file=sys.stderr)
        return 2
    pipe = load_pipeline(settings)
    pipe = replace(pipe, sampler=replace(pipe.sampler, steps=args.steps))
    runs = []
    for seed in args.seeds or [args.seed]:
        ev = evaluate(pipe, settings, n=args.n, seed=seed, n_heldout_prompts=args.heldout_prompts,
                      n_evocative=args.evocative_prompts, guidance=args.guidance, exploration=args.exploration)
        _print_evaluation(ev)
        runs.append(ev)
    summary = seed_summary(runs) if len(runs) > 1 else None
    if summary is not None:
        _print_seed_summary(summary)
    if args.json:
        Path(args.json).write_text(json.dumps(runs[0] if summary is None else {"runs": runs, "summary": summary},
                                              indent=1))
    return 0


def _print_evaluation(ev: dict) -> None:
    cols = ("validity", "uniqueness", "novelty", "intdiv", "odorant_like", "sa_median", "adherence", "hit5",
            "adherence_novel", "odorant_like_novel", "sound", "sound_tautomer", "n")
    print("\n" + json.dumps(ev["settings"]))
    print(f"{'method':<42}" + "".join(f"{c[:12]:>13}" for c in cols))
    for r in ev["rows"]:
        print(f"{r['method']:<42}" + "".join(f"{_fmt(r.get(c)):>13}" for c in cols))
    print(f"unconditional IntDiv (guidance 0, {ev['settings']['oversample'] * ev['settings']['n']} samples): {_fmt(ev['unconditional_intdiv'])}")
    _print_by_similarity(ev["by_similarity"])


def _print_seed_summary(summary: dict) -> None:
    """The goals' figures of the shipped pipeline per seed, then their mean (bins: won or tied / compared)."""
    print("\nper seed, the shipped pipeline against RETRIEVE+MUTATE+RERANK (same screens | unscreened); raw = its "
          "first oversample x n draws")
    head = ("seed", "adherence", "ref same", "bins", "ref unscr", "bins", "intdiv", "odorant", "raw valid",
            "raw unique", "raw sound", "raw taut")
    print("".join(f"{h:>11}" for h in head))

    def line(label: str, r: dict) -> str:
        def bins(key: str) -> str:
            return f"{r[f'{key}_bins_won']:g}/{r[f'{key}_bins_compared']:g}"

        def f4(key: str) -> str:
            return "n/a" if r[key] is None else f"{r[key]:.4f}"

        cells = (label, f4("adherence"), f4("screened_reference"), bins("screened"), f4("unscreened_reference"),
                 bins("unscreened"), f4("intdiv"), f4("odorant_like"), f4("raw_validity"), f4("raw_uniqueness"),
                 f4("raw_sound"), f4("raw_sound_tautomer"))
        return "".join(f"{c:>11}" for c in cells)

    for r in summary["seeds"]:
        print(line(str(r["seed"]), r))
    print(line("mean", summary["mean"]))

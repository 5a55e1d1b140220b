#!/usr/bin/env python
"""Sampler steps (and precision) vs quality and time for the shipped generator: the model card's steps table.

For each evocative prompt (`odordiff_core.eval.generator.EVOCATIVE_PROMPTS`) and each setting, runs the
pipeline's public stages (plan -> sample -> screen -> rank) with GenerateRequest(prompt, n=16, seed) and
records validity (valid / sampled), uniqueness (unique / valid), novelty (not in any data file / unique), how
many of the n were returned, the mean
odor match of the returned candidates (the ranker's own score, not an independent judge) and the seconds of
the sample stage (sampler + decoding) and of the whole request. Settings are interleaved per prompt, so a
shared machine's load falls on all of them alike; the load average is printed with the table.

    .venv/bin/python scripts/steps_table.py                                   # steps 4 6 8 12 16, auto precision
    .venv/bin/python scripts/steps_table.py --precision float32 --precision bfloat16 --json /tmp/steps.json
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing

from odordiff_core.config import GENERATION, Settings  # noqa: E402
from odordiff_core.sampler import PRECISIONS, SamplerConfig, resolved_precision  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, nargs="+", default=[4, 6, 8, 12, 16], help="sampler steps to compare")
    parser.add_argument("--precision", choices=PRECISIONS, action="append",
                        help="sampler precision (repeatable; default: the shipped 'auto')")
    parser.add_argument("--prompts", type=int, default=10, help="how many evocative prompts (first N of 20)")
    parser.add_argument("--seeds", type=int, default=1, help="seeds per prompt (0..N-1)")
    parser.add_argument("--n", type=int, default=GENERATION.n, help="candidates per request")
    parser.add_argument("--json", type=Path, help="also write the per-request records here")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

    from odordiff_core.eval.generator import EVOCATIVE_PROMPTS
    from odordiff_core.pipeline import GenerateRequest, load_pipeline

    base = load_pipeline(Settings.from_env())
    configs = [(s, p) for p in (args.precision or ["auto"]) for s in args.steps]
    pipes = {c: replace(base, sampler=replace(base.sampler, steps=c[0], precision=c[1])) for c in configs}
    prompts = EVOCATIVE_PROMPTS[: args.prompts]
    base.generate(GenerateRequest("warm-up: a soft floral heart", n=args.n, seed=0))
    loads = [os.getloadavg()[0]]
    records = []
    for prompt in prompts:
        for seed in range(args.seeds):
            for c, pipe in pipes.items():
                req = GenerateRequest(prompt, n=args.n, seed=seed)
                t0 = time.perf_counter()
                plan = pipe.plan(req)
                t1 = time.perf_counter()
                raw = pipe.sample(plan)
                t2 = time.perf_counter()
                res = pipe.rank(plan, pipe.screen(plan, raw))
                t3 = time.perf_counter()
                records.append({"steps": c[0], "precision": c[1], "prompt": prompt, "seed": seed,
                                "sampled": res.n_sampled, "valid": res.n_valid, "unique": res.n_unique, "novel": res.n_novel,
                                "returned": len(res.candidates),
                                "odor_match": [cand.odor_match for cand in res.candidates],
                                "sample_s": t2 - t1, "request_s": t3 - t0})
        loads.append(os.getloadavg()[0])
        print(f"  {prompt}: done (load {loads[-1]:.1f})", file=sys.stderr, flush=True)

    print(f"\n{len(prompts)} evocative prompts x {args.seeds} seed(s), n={args.n}, oversample {base.oversample}, "
          f"guidance {base.sampler.guidance:g}; load average (1 min) {min(loads):.1f}-{max(loads):.1f} on "
          f"{os.cpu_count()} CPUs; 'auto' ran as {resolved_precision(SamplerConfig())}\n")
    print("| steps | precision | valid | unique | novel | returned of n | mean odor match | sample stage p50 | request p50 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s, p in configs:
        rs = [r for r in records if (r["steps"], r["precision"]) == (s, p)]
        sampled, valid, unique, novel = (sum(r[k] for r in rs) for k in ("sampled", "valid", "unique", "novel"))
        matches = [m for r in rs for m in r["odor_match"]]
        print(f"| {s} | {p} | {valid / max(sampled, 1):.1%} | {unique / max(valid, 1):.1%} | {novel / max(unique, 1):.1%} | "
              f"{statistics.mean(r['returned'] for r in rs):.1f} | {statistics.mean(matches) if matches else float('nan'):.3f} | "
              f"{statistics.median(r['sample_s'] for r in rs):.2f} s | {statistics.median(r['request_s'] for r in rs):.2f} s |")
    if args.json:
        args.json.write_text(json.dumps({"loads": loads, "records": records}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

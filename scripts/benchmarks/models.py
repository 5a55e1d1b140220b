"""Bench sections over the models: predictor, text interpreter, generator, whole pipeline."""
from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from odordiff_core.config import Settings

from .common import GEN_N, PROMPTS, REPO, Row, Section, loaded, percentile_ms

GENERATOR_BENCH_STEPS = 24  # the sampler's default when these figures were first taken; kept so they compare


def bench_predictor(settings: Settings, section: Section, shared: dict[str, Any]) -> None:
    from odordiff_core import odor
    from odordiff_core.chem import to_mol, without_rdkit_log
    from odordiff_core.datasets import GSLF_FILE, read_frame

    predictor, load_s = loaded("predictor", lambda: odor.load_predictor(settings))
    section.rows.append(Row("predictor load", load_s, "s", ("<=", 2.0), "`load_predictor(Settings.from_env())`, torch/rdkit already imported"))

    smiles = read_frame(GSLF_FILE, settings)["nonStereoSMILES"]
    with without_rdkit_log():
        mols = [m for m in (to_mol(s) for s in smiles) if m is not None]
    predictor.predict_proba(mols[:64])  # warm-up (lazy init, allocator)
    times = []
    for _ in range(3):
        started = time.perf_counter()
        probs = predictor.predict_proba(mols)
        times.append(time.perf_counter() - started)
    assert probs.shape[0] == len(mols)
    rate = len(mols) / float(np.median(times))
    section.rows.append(Row("predictor throughput, same Mol objects again", rate, "mol/s", None,
                            f"`predict_proba` on the {len(mols):,} GS-LF molecules (featurisation included), median of 3; "
                            f"runs 2-3 reuse RDKit's per-molecule caches (Crippen logP, VSA bins): not the generator's case"))

    def parse() -> list:
        with without_rdkit_log():  # new Mol objects: cold RDKit caches, as generated candidates arrive
            return [m for m in (to_mol(s) for s in smiles) if m is not None]

    times = []
    for _ in range(3):
        fresh = parse()
        started = time.perf_counter()
        predictor.predict_proba(fresh)
        times.append(time.perf_counter() - started)
    section.rows.append(Row("predictor throughput, freshly parsed molecules", len(fresh) / float(np.median(times)),
                            "mol/s", (">=", 1000), f"`predict_proba` on the {len(fresh):,} GS-LF molecules newly parsed, "
                            "as generated candidates are (featurisation included), median of 3 passes over new Mol objects"))
    one_process = odor.OdorPredictor(predictor.ensemble, predictor.labels, predictor.version, feature_workers=1)
    times_one, cpu = [], []
    for _ in range(3):
        fresh = parse()
        started, cpu_started = time.perf_counter(), time.process_time()
        one_process.predict_proba(fresh)
        times_one.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    section.rows.append(Row("predictor throughput, freshly parsed molecules, featurised in this process only",
                            len(fresh) / float(np.median(times_one)), "mol/s", None,
                            "as the row above with `ODORDIFF_FEATURE_WORKERS=1`: no worker process shares the featurisation"))
    section.rows.append(Row("predictor throughput, freshly parsed molecules, per CPU second", len(fresh) / float(np.median(cpu)),
                            "mol/s", None, "the one-process passes, molecules per `time.process_time()` second (all threads): "
                            "less sensitive to other jobs on the machine than the wall clock"))
    fresh = parse()
    started = time.perf_counter()
    for k in range(0, len(fresh), 64):
        predictor.predict_with_domain(fresh[k:k + 64])
    section.rows.append(Row("predictor throughput, freshly parsed molecules in batches of 64", len(fresh) / (time.perf_counter() - started),
                            "mol/s", None, "`predict_with_domain` (what `Pipeline.rank` calls) on 64 newly parsed molecules "
                            "at a time, one pass: the generator's case, one request's sample per call"))
    section.notes.append(f"predictor version {getattr(predictor, 'version', '?')}; featurisation shared by "
                         f"{predictor.feature_workers} process(es) (`ODORDIFF_FEATURE_WORKERS`, default: usable cores, at most 4)")


def bench_text(settings: Settings, section: Section, shared: dict[str, Any]) -> None:
    from odordiff_core import text
    interpreter, load_s = loaded("text interpreter", lambda: text.load_interpreter(settings))
    section.rows.append(Row("text interpreter load", load_s, "s", ("<=", 3.0), "`load_interpreter(Settings.from_env())` (sentence encoder included)"))
    interpreter.interpret("warm-up: a soft floral heart")
    times = []
    for prompt in PROMPTS:
        started = time.perf_counter()
        interpreter.interpret(prompt)
        times.append(time.perf_counter() - started)
    section.rows.append(Row("text interpretation p50", percentile_ms(times, 50), "ms", ("<=", 50), f"`interpret(prompt)` over {len(PROMPTS)} prompts, warm"))
    section.rows.append(Row("text interpretation p95", percentile_ms(times, 95), "ms", None, "same run"))


def bench_generator(settings: Settings, section: Section, shared: dict[str, Any]) -> None:
    import torch

    from odordiff_core import generator, sampler
    from odordiff_core.tokens import decode_smiles

    path = settings.weights_dir / "generator"
    gen, load_s = loaded("generator", lambda: generator.load_generator(path))
    section.rows.append(Row("generator model load", load_s, "s", ("<=", 5.0), f"`load_generator({path.relative_to(REPO) if path.is_relative_to(REPO) else path})`"))
    weights = np.zeros(len(gen.labels), dtype=np.float32)
    for label, w in (("citrus", 1.0), ("fresh", 0.6), ("green", 0.3)):
        if label in gen.labels:
            weights[gen.labels.index(label)] = w
    cond = torch.from_numpy(generator.condition_vector(weights))  # (138,)
    batch = 64

    def run(cfg: sampler.SamplerConfig) -> tuple[list[float], int]:
        """Returns the seconds of three 64-molecule sample + decode runs (seeds 0-2) and how many decoded."""
        sampler.sample(gen.model, cond, 8, cfg, gen.schedule, seed=99)  # warm-up (kernels for this precision)
        times, valid = [], 0
        for seed in range(3):
            started = time.perf_counter()
            ids = sampler.sample(gen.model, cond, batch, cfg, gen.schedule, seed=seed)  # (64, L)
            smiles = [decode_smiles(gen.vocab.decode(row)) for row in ids.numpy()]
            times.append(time.perf_counter() - started)
            valid += sum(s is not None for s in smiles)
        return times, valid

    cfg = sampler.SamplerConfig(steps=GENERATOR_BENCH_STEPS)
    precision = sampler.resolved_precision(cfg)
    times, valid = run(cfg)
    section.rows.append(Row("molecules sampled per second (batch 64)", batch / float(np.median(times)), "mol/s", None,
                            f"`sample(model, cond, 64, SamplerConfig(steps={cfg.steps}), ...)` + decoding to SMILES ({cfg.steps} steps, "
                            f"guidance {cfg.guidance}, {precision}), median of 3 seeds"))
    section.notes.append(f"{gen.version}: {valid}/{3 * batch} sampled strings decoded to valid SMILES")
    shipped = sampler.SamplerConfig()  # the pipeline's sampler: GENERATION.steps, 'auto' precision
    configs = [("shipped defaults", shipped)]
    if precision != "float32":
        configs.append(("float32 for comparison", replace(shipped, precision="float32")))
    for what, c in configs:
        times, _ = run(c)
        section.rows.append(Row(f"sampler, 64 molecules, {what} ({c.steps} steps, {sampler.resolved_precision(c)})",
                                float(np.median(times)), "s", None,
                                f"`sample(model, cond, 64, SamplerConfig({'' if c == shipped else 'precision=' + repr(c.precision)}), ...)` "
                                f"+ decoding, guidance {c.guidance}: the sample stage of one n = {GEN_N} request, median of 3 seeds"))
    section.notes.append(f"sampler precision 'auto' runs as {precision} here (bfloat16 where the CPU has AMX or "
                         f"AVX512-BF16); torch threads {torch.get_num_threads()}")


def bench_pipeline(settings: Settings, section: Section, shared: dict[str, Any]) -> None:
    import torch

    from odordiff_core import pipeline as pipeline_mod
    pipeline, load_s = loaded("pipeline", lambda: pipeline_mod.load_pipeline(settings))
    section.rows.append(Row("pipeline load", load_s, "s", None,
                            "`load_pipeline(Settings.from_env())`: generator + predictor + text + safety, torch/rdkit already imported"))
    request = pipeline_mod.GenerateRequest
    pipeline.generate(request(prompt="warm-up: a soft floral heart", n=GEN_N, seed=0))
    times, cpu, sampled = [], [], 0
    result = None
    for prompt in PROMPTS:
        started, cpu_started = time.perf_counter(), time.process_time()
        result = pipeline.generate(request(prompt=prompt, n=GEN_N, seed=0))
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
        sampled += result.n_sampled
    section.rows.append(Row("warm generation p50", float(np.median(times)), "s", ("<=", 1.5),
                            f"`generate(GenerateRequest(prompt, n={GEN_N}, seed=0))` over {len(PROMPTS)} prompts"))
    section.rows.append(Row("warm generation p95", float(np.percentile(times, 95)), "s", ("<=", 2.5), "same run"))
    section.rows.append(Row("warm generation, CPU seconds per request p50", float(np.median(cpu)), "s", None,
                            f"`time.process_time()` of the process (every torch thread included) per request, same run; "
                            f"less sensitive to other jobs than the wall clock, but idle OpenMP threads spinning count too "
                            f"({torch.get_num_threads()} torch threads)"))
    section.rows.append(Row("molecules sampled per second, end to end", sampled / sum(times), "mol/s", None,
                            f"n_sampled / wall time of the same run ({sampled / len(PROMPTS):.0f} sampled per request; "
                            "includes interpretation, decoding, scoring and ranking)"))
    if result is not None:
        shared["generation_payload"] = result.to_json()
        shared["generation_version"] = result.model_version
    stages: dict[str, list[float]] = {"plan": [], "sample": [], "screen": [], "rank": []}
    stages_cpu: dict[str, list[float]] = {name: [] for name in stages}
    pipeline = replace(pipeline)  # the same models, no prompt reading kept: each stage loop reads every prompt again
    for prompt in PROMPTS:  # the same requests again, timed stage by stage (generate = rank(screen(sample(plan))))
        marks = [(time.perf_counter(), time.process_time())]
        plan = pipeline.plan(request(prompt=prompt, n=GEN_N, seed=0))
        marks.append((time.perf_counter(), time.process_time()))
        raw = pipeline.sample(plan)
        marks.append((time.perf_counter(), time.process_time()))
        screened = pipeline.screen(plan, raw)
        marks.append((time.perf_counter(), time.process_time()))
        pipeline.rank(plan, screened)
        marks.append((time.perf_counter(), time.process_time()))
        for name, (a, b) in zip(stages, zip(marks, marks[1:])):
            stages[name].append(b[0] - a[0])
            stages_cpu[name].append(b[1] - a[1])
    what = {"plan": "interpret the prompt, build the targets", "sample": "sampler + decoding to canonical SMILES",
            "screen": "de-duplicate, novelty, safety screen, filters", "rank": "odor predictor, rank, nearest known, properties"}
    for name, ts in stages.items():
        section.rows.append(Row(f"warm generation p50, {name} stage", float(np.median(ts)), "s", None,
                                f"`Pipeline.{name}` ({what[name]}), same {len(PROMPTS)} requests"))
        section.rows.append(Row(f"warm generation p50, {name} stage, CPU seconds", float(np.median(stages_cpu[name])),
                                "s", None, f"`time.process_time()` around `Pipeline.{name}`, same requests"))



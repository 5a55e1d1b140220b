"""`odordiff interpret`, `odordiff train text`, `odordiff evaluate text`: the prompt interpreter (odordiff_core/text/)."""
from __future__ import annotations

import argparse
import json
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("interpret", help="read a prompt into weighted odor descriptors (the generator's targets)")
    p.add_argument("prompt", nargs="?", help='e.g. "fresh but not sweet, a hint of vanilla"')
    p.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    p.add_argument("--prompts-file", metavar="F",
                   help="JSON Lines file with {id, text} per line; prints one JSON object per line with id added")
    p.set_defaults(func=_interpret)


def register_train(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("text", help="retrain the prompt interpreter head (seed 0, ~1-2 min on 2 cores) and its vocabulary")
    p.add_argument("--vocabulary-only", action="store_true",
                   help="rebuild only weights/text/vocabulary.* (materials, everyday words) next to the shipped head")
    p.set_defaults(func=_train)


def register_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("text", help="recall@5 / MAP vs keyword and similarity baselines, evocative hit rate, latency")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.add_argument("--briefs", metavar="F", help="JSON Lines file of briefs {id, text, expected: [labels]} to score "
                   "(the 40 perfumer briefs of the repository's test data; see docs/model_card_text.md)")
    p.set_defaults(func=_evaluate)


def _interpret(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..errors import InvalidInput
    from ..text import format_table, load_interpreter, parse_prompt

    if (args.prompt is None) == (args.prompts_file is None):
        raise InvalidInput("Give either a PROMPT or --prompts-file F (JSON Lines with id and text), not both or neither.")
    items = [(None, args.prompt)] if args.prompts_file is None else _read_prompts(args.prompts_file)
    if args.prompt is not None:
        parse_prompt(args.prompt)  # an empty prompt fails before the model loads
    it = load_interpreter(Settings.from_env())
    failed = 0
    for pid, text in items:
        try:
            result = it.interpret(text)
        except InvalidInput as exc:
            if pid is None:
                raise
            failed += 1
            print(json.dumps({"id": pid, "prompt": text, "error": str(exc)}, ensure_ascii=False))
            continue
        if result.truncated_chars:
            used = len(text) - result.truncated_chars
            print(f"notice: prompt{'' if pid is None else ' ' + str(pid)} truncated: used the first {used:,} of "
                  f"{len(text):,} characters", file=sys.stderr)
        if pid is not None:
            print(json.dumps({"id": pid, **result.to_json()}, ensure_ascii=False))
        elif args.format == "json":
            print(json.dumps(result.to_json(), ensure_ascii=False, indent=1))
        else:
            print(format_table(result))
    return 1 if failed else 0


def _read_prompts(path: str) -> list[tuple[object, str]]:
    from ..errors import InvalidInput
    from .common import check_text, read_lines

    items = []
    for n, line in read_lines(path, 'one JSON object {"id": ..., "text": ...} per line'):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{path} line {n} is not JSON ({exc.msg}). Each line must be {{\"id\": ..., \"text\": ...}}.") from None
        except RecursionError:
            raise InvalidInput(f"{path} line {n} nests too deeply. Each line must be {{\"id\": ..., \"text\": ...}}.") from None
        if not isinstance(obj, dict) or "id" not in obj or not isinstance(obj.get("text"), str):
            raise InvalidInput(f"{path} line {n} needs an \"id\" and a string \"text\".")
        check_text(obj["text"], f"{path} line {n}")
        items.append((obj["id"], obj["text"]))
    return items


def _train(args: argparse.Namespace) -> int:
    from ..config import Settings
    from ..train.text import train, train_vocabulary

    (train_vocabulary if args.vocabulary_only else train)(Settings.from_env())
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from dataclasses import asdict
    from pathlib import Path

    from ..config import Settings
    from ..eval.text import COMMON_MATERIALS, LONG_BRIEF_CHARS, evaluate

    ev = evaluate(Settings.from_env(), log=(lambda *a: None) if args.json else print,
                  briefs=Path(args.briefs) if args.briefs else None)
    if args.json:
        print(json.dumps(asdict(ev), indent=1))
        return 0
    print(f"model {ev.model_version}")
    print(f"held-out GoodScents descriptions (20% of molecules, seed 0): n = {ev.n_heldout}")
    print(f"{'method':<34} {'recall@5':>8} {'MAP':>7} {'evocative top-5 hits':>21}")
    print("(evocative: the interpreter counts only the weights it shows; baselines count their top-5 ranking)")
    for name, m in (("interpreter (lexicon + MLP head)", ev.model), ("baseline: keyword match", ev.keyword),
                    ("baseline: embedding similarity", ev.similarity)):
        print(f"{name:<34} {m.recall_at_5:>8.3f} {m.map:>7.3f} {m.evocative_hits:>10d}/{ev.n_evocative}"
              f" ({m.evocative_hits / ev.n_evocative:.0%})")
    print(f"interpreter evocative hits on its full ranking (as counted for the baselines): {ev.evocative_hits_ranking}/{ev.n_evocative}")
    print(f"evocative misses (shown weights): {', '.join(ev.evocative_misses) or '-'}")
    print(f"load: {ev.load_s:.2f} s")
    print(f"latency per prompt (warm), torch threads {ev.torch_threads}: mean {ev.latency_ms_mean:.1f} ms, "
          f"p95 {ev.latency_ms_p95:.1f} ms; 1 thread: mean {ev.latency_ms_mean_1thread:.1f} ms, p95 {ev.latency_ms_p95_1thread:.1f} ms")
    goals = [("recall@5 >= 0.75", ev.model.recall_at_5 >= 0.75),
             ("beats keyword (recall@5 and MAP)", ev.model.recall_at_5 > ev.keyword.recall_at_5 and ev.model.map > ev.keyword.map),
             ("beats similarity (recall@5 and MAP)", ev.model.recall_at_5 > ev.similarity.recall_at_5 and ev.model.map > ev.similarity.map),
             ("evocative >= 80%", ev.model.evocative_hits >= 0.8 * ev.n_evocative),
             (f"latency <= 50 ms ({ev.torch_threads} threads)", ev.latency_ms_mean <= 50),
             ("latency <= 50 ms (1 thread)", ev.latency_ms_mean_1thread <= 50), ("load <= 3 s", ev.load_s <= 3)]
    v = ev.vocabulary
    if v is not None:
        if v.briefs_hits is not None:
            print(f"perfumer briefs ({args.briefs}): {v.briefs_hits}/{v.n_briefs} ({v.briefs_hits / v.n_briefs:.0%}) with an "
                  f"expected descriptor in the shown top 5; misses: {', '.join(v.briefs_misses) or '-'}")
            goals.append(("perfumer briefs >= 85%", v.briefs_hits >= 0.85 * v.n_briefs))
        else:
            print("perfumer briefs: not measured (pass --briefs FILE; docs/model_card_text.md names the file)")
        if v.trade_rows:
            print(f"material lookup: {v.trade_resolved}/{v.trade_rows} trade names ({v.trade_resolved / v.trade_rows:.0%}) "
                  f"read as a material with a structure")
        print(f"everyday table: {v.everyday_things} things read through their constituents; constituents no reading "
              f"knows: {', '.join(v.everyday_unresolved) or '-'}")
        print(f"24 most common materials: defining note in top 3 for {v.common_hits}/{len(COMMON_MATERIALS)}; "
              f"misses: {', '.join(v.common_misses) or '-'}")
        print(f"latency per interpret (CPU time, 1 thread, warm): p50 {v.latency_ms_p50_cpu:.1f} ms over the evocative "
              f"prompts and a {LONG_BRIEF_CHARS:,}-character brief of material names; that brief alone {v.latency_ms_long_cpu:.1f} ms")
        goals += [("held-out recall@5 >= 0.92 and MAP >= 0.96", ev.model.recall_at_5 >= 0.92 and ev.model.map >= 0.96),
                  ("evocative >= 85%", ev.model.evocative_hits >= 0.85 * ev.n_evocative),
                  ("latency p50 <= 50 ms CPU", v.latency_ms_p50_cpu <= 50),
                  (f"{LONG_BRIEF_CHARS:,}-character brief <= 50 ms CPU", v.latency_ms_long_cpu <= 50)]
    for goal, ok in goals:
        print(f"goal {goal}: {'met' if ok else 'MISSED'}")
    return 0

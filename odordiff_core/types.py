"""Result records shared across the core. Frozen: a result never changes after it is returned."""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    """The safety screen's verdict on one molecule. Never "safe": an unlisted molecule can still be hazardous."""

    BLOCKED = "blocked"  # a block-level flag: prohibited, banned, or a close analogue of one
    CAUTION = "caution"  # a caution-level flag: restricted, allergen, structural alert
    NO_KNOWN_ISSUE = "no known issue"  # screened, nothing found
    NOT_SCREENED = "not screened"  # a rule failed on this molecule: the screen fails closed

    @property
    def rank(self) -> int:
        """Returns the severity (0 = no known issue ... 3 = blocked); "not screened" counts as caution."""
        return _VERDICT_RANK[self]

    @classmethod
    def from_levels(cls, levels: "set[FlagLevel] | set[str]") -> "Verdict":
        """Returns the verdict of a molecule with flags at these levels (the one verdict ladder)."""
        if FlagLevel.BLOCK in levels:
            return cls.BLOCKED
        if FlagLevel.CAUTION in levels:
            return cls.CAUTION
        return cls.NO_KNOWN_ISSUE


class FlagLevel(StrEnum):
    """How much one safety flag weighs: block and caution raise the verdict, warning is shown only."""

    BLOCK = "block"
    CAUTION = "caution"
    WARNING = "warning"


class Note(StrEnum):
    """Where a material sits in a perfume's evaporation: from its estimated boiling point."""

    TOP = "top"
    HEART = "heart"
    BASE = "base"


class Role(StrEnum):
    """What a user may do with saved work: viewer reads shared projects, perfumer also generates, keeps and edits
    their own and shared projects, admin also manages users' roles. Ordered: `Role.rank`."""

    VIEWER = "viewer"
    PERFUMER = "perfumer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """Returns 0 for viewer, 1 for perfumer, 2 for admin: a role may do what every lower rank may."""
        return _ROLE_RANK[self]


_ROLE_RANK = {Role.VIEWER: 0, Role.PERFUMER: 1, Role.ADMIN: 2}


class ShortlistStatus(StrEnum):
    """Where a kept molecule stands in the perfumer's work."""

    TO_SMELL = "to smell"
    ORDERED = "ordered"
    REJECTED = "rejected"


_VERDICT_RANK = {Verdict.NO_KNOWN_ISSUE: 0, Verdict.CAUTION: 1, Verdict.NOT_SCREENED: 2, Verdict.BLOCKED: 3}


@dataclass(frozen=True, slots=True)
class OdorProfile:
    """Predicted odor profile of one molecule over the 138 GS-LF labels."""

    labels: tuple[str, ...]  # the 138 GoodScents/Leffingwell labels, in the data file's column order
    probs: tuple[float, ...]  # calibrated probability per label (mean of the ensemble), 0..1
    std: tuple[float, ...]  # ensemble spread per label: the uncertainty of each probability
    model_version: str  # e.g. "predictor-1.0+<weights sha>"

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """Returns the k most probable labels with their probabilities, most probable first."""
        order = sorted(range(len(self.probs)), key=lambda i: -self.probs[i])[:k]
        return [(self.labels[i], self.probs[i]) for i in order]

    def to_json(self) -> dict[str, Any]:
        return {"labels": list(self.labels), "probs": list(self.probs), "std": list(self.std),
                "model_version": self.model_version}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "OdorProfile":
        return cls(tuple(d["labels"]), tuple(d["probs"]), tuple(d["std"]), d["model_version"])

    def as_dict(self) -> dict[str, float]:
        """Returns {label: probability} for all labels."""
        return dict(zip(self.labels, self.probs))

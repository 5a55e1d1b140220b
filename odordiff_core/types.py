"""Result records shared across the core. Frozen: a result never changes after it is returned."""
from __future__ import annotations

from dataclasses import dataclass


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

    def as_dict(self) -> dict[str, float]:
        """Returns {label: probability} for all labels."""
        return dict(zip(self.labels, self.probs))

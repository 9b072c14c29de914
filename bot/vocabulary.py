"""The words users type: importance levels, report languages and the window syntax, as plain
Python (no pydantic), so the command line's parser and `--help` load in milliseconds."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")


class Importance(StrEnum):
    """How much a commit matters to people following the repository."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for high, 2 for low: sorts high first."""
        return _IMPORTANCE_RANK[self]


_IMPORTANCE_RANK = {Importance.HIGH: 0, Importance.MEDIUM: 1, Importance.LOW: 2}
IMPORTANCE_ORDER: tuple[Importance, ...] = (Importance.HIGH, Importance.MEDIUM, Importance.LOW)

WINDOW_HELP = (
    "today, yesterday, latest (the last day with commits; local checkouts), YYYY-MM-DD, "
    "YYYY-MM-DD..YYYY-MM-DD, Nd (e.g. 7d) or week"
)

# A subscription's alerts: posted as commits land, for those at or above the level.
AlertLevel = Literal["off", "high", "medium"]
ALERT_LEVELS: tuple[AlertLevel, ...] = ("off", "high", "medium")


def alert_level(text: str | None) -> AlertLevel:
    """The stored or typed level ("off" for anything else)."""
    value = (text or "").strip().lower()
    return "high" if value == "high" else "medium" if value == "medium" else "off"


def alert_threshold(level: AlertLevel) -> Importance | None:
    """The lowest importance alerted at `level` (None: alerts are off)."""
    return {"high": Importance.HIGH, "medium": Importance.MEDIUM}.get(level)


# How often a subscription posts: "weekly" posts once a week, with the week's chart.
Cadence = Literal["daily", "weekly"]

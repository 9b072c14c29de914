"""Small Digest builders for formatter tests, derived from the reference day's commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.models import (
    Alert,
    AnalysisProvenance,
    Coverage,
    Digest,
    DigestItem,
    HeldBack,
    Importance,
    Language,
)
from tests.data.reference_day import reference_digest


def with_items(items: Sequence[DigestItem], language: Language = "zh", **changes: object) -> Digest:
    """The reference digest with `items` (sorted high → low) and other fields changed."""
    ordered = sorted(items, key=lambda item: item.analysis.importance.rank)
    return reference_digest(language).model_copy(update={"items": tuple(ordered), **changes})


def copies(
    count: int, importance: Importance, language: Language = "zh", start: int = 0
) -> list[DigestItem]:
    """`count` copies of reference commits with distinct SHAs and the given importance."""
    templates = reference_digest(language).items
    result = []
    for index in range(start, start + count):
        template = templates[index % len(templates)]
        sha = f"{index:07x}" + template.commit.sha[7:]
        result.append(
            template.model_copy(
                update={
                    "commit": template.commit.model_copy(update={"sha": sha}),
                    "analysis": template.analysis.model_copy(
                        update={"sha": sha, "importance": importance}
                    ),
                }
            )
        )
    return result


def with_provenance(item: DigestItem, **fields: object) -> DigestItem:
    """`item` whose analysis provenance has `fields` changed (coverage given as a dict)."""
    provenance = item.analysis.provenance
    if "coverage" in fields and isinstance(fields["coverage"], dict):
        fields["coverage"] = Coverage(**fields["coverage"])
    new = AnalysisProvenance(**{**provenance.model_dump(), **fields})
    return item.model_copy(
        update={"analysis": item.analysis.model_copy(update={"provenance": new})}
    )


def with_text(item: DigestItem, **fields: object) -> DigestItem:
    """`item` with commit fields (title, author) or analysis fields (summary, …) replaced."""
    commit_fields = {k: v for k, v in fields.items() if k in ("title", "author", "repo")}
    analysis_fields = {k: v for k, v in fields.items() if k not in commit_fields}
    return item.model_copy(
        update={
            "commit": item.commit.model_copy(update=commit_fields),
            "analysis": item.analysis.model_copy(update=analysis_fields),
        }
    )


def alert_of(
    items: Sequence[DigestItem],
    language: Language = "en",
    *,
    folded: bool = False,
    forced: bool = False,
    held: HeldBack | None = None,
) -> Alert:
    """An alert about `items` (sorted high → low) in the reference digest's repository."""
    return Alert(
        digest=with_items(items, language),
        folded=folded,
        forced=forced,
        held=held or HeldBack(),
    )


def alerted(item: DigestItem, at: datetime) -> DigestItem:
    """`item` as a daily digest shows it after an alert announced it at `at`."""
    return item.model_copy(update={"alerted_at": at})


# The hostile text of the alert tests: it must not ping anyone or carry a link of its own.
HOSTILE = (
    "@here @everyone <!channel> <!here> <@U123> [x](http://evil.example) "
    "<http://evil.example|x> <at id=all></at> https://evil.example/phish"
)


def golden_alerts(language: Language) -> dict[str, Alert]:
    """The alerts of the golden files: the reference day's high commit with alerts held back,
    and a force-pushed burst of 12 commits folded into one card (10 shown, "+2 more")."""
    items = reference_digest(language).items
    since = items[0].commit.committed_at - timedelta(hours=2, minutes=5)
    held = HeldBack(quiet_hours=2, rate_cap=1, since=since)
    burst = [*items, *copies(3, Importance.HIGH, language, start=9)]
    return {
        "one": alert_of([items[0]], language, held=held),
        "folded": alert_of(burst, language, folded=True, forced=True),
    }


def hostile_alerts(language: Language = "en") -> list[Alert]:
    """One-commit and folded alerts whose title, author, summary and risks are HOSTILE."""
    item = with_text(
        reference_digest(language).items[0],
        title=HOSTILE,
        author=HOSTILE,
        summary=HOSTILE,
        risks=(HOSTILE, HOSTILE, HOSTILE),
    )
    return [
        alert_of([item], language),
        alert_of([item, *copies(12, Importance.HIGH, language, start=1)], language, folded=True),
    ]


# 10:47 in Asia/Shanghai on the reference day (its high commit landed at 10:45), and 09:00 of
# the next local day.
ALERTED_SAME_DAY = datetime(2026, 2, 8, 2, 47, tzinfo=UTC)
ALERTED_NEXT_DAY = datetime(2026, 2, 9, 1, 0, tzinfo=UTC)


def alerted_digest(language: Language = "en") -> Digest:
    """The reference digest whose high commit was alerted the same day and whose first
    medium commit was alerted the next local day (the rest never)."""
    items = list(reference_digest(language).items)
    items[0] = alerted(items[0], ALERTED_SAME_DAY)
    items[1] = alerted(items[1], ALERTED_NEXT_DAY)
    return with_items(items, language)

"""Small Digest builders for formatter tests, derived from the reference day's commits."""

from __future__ import annotations

from collections.abc import Sequence

from bot.models import (
    AnalysisProvenance,
    Coverage,
    Digest,
    DigestItem,
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

"""Tests for formatters.json_out: golden JSON, stable keys, offsets, and text round-trips.

The golden file is tests/golden/digest.json; regenerate it after an intended change with
`UPDATE_GOLDEN=1 pytest tests/formatters/test_json_out.py` and review the diff.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.models import Importance
from formatters.json_out import render_commit_json, render_json, render_json_many
from tests.data.reference_day import empty_digest, reference_digest
from tests.formatters.test_markdown import check_golden

TOP_KEYS = [
    "schema_version",
    "repo",
    "repo_url",
    "window",
    "language",
    "stats",
    "overview",
    "items",
    "provenance",
]
ITEM_KEYS = [
    "sha",
    "short_sha",
    "title",
    "author",
    "committed_at",
    "url",
    "pr_number",
    "pr_url",
    "files_changed",
    "additions",
    "deletions",
    "change_type",
    "change_type_detail",
    "importance",
    "summary",
    "scope",
    "scope_notes",
    "insights",
    "risks",
    "recommendations",
    "closing",
    "provenance",
    "facts",
]


def test_reference_json_matches_golden() -> None:
    check_golden("digest.json", render_json(reference_digest("zh")))


def test_keys_are_stable_and_complete() -> None:
    data = json.loads(render_json(reference_digest("en", with_overview=True)))
    assert list(data) == TOP_KEYS
    assert list(data["window"]) == ["start", "end", "tz", "label", "title"]
    assert list(data["stats"]) == ["total", "high", "medium", "low"]
    assert all(list(item) == ITEM_KEYS for item in data["items"])
    assert list(data["items"][0]["insights"]) == [
        "architecture",
        "performance",
        "security",
        "maintainability",
        "compatibility",
        "testing",
    ]
    assert data["overview"].startswith("The day's main change")


def test_values_match_the_digest() -> None:
    digest = reference_digest("zh")
    data = json.loads(render_json(digest))
    assert data["stats"] == {"total": 9, "high": 1, "medium": 4, "low": 4}
    assert [i["importance"] for i in data["items"]].count(Importance.HIGH.value) == 1
    first = data["items"][0]
    assert first["sha"] == "00248d85c798c6c4cb84aa5a7ac7685178867219"
    assert first["url"] == (
        "https://github.com/sgl-project/sglang/commit/00248d85c798c6c4cb84aa5a7ac7685178867219"
    )
    assert first["pr_url"] == "https://github.com/sgl-project/sglang/pull/13662"
    assert first["committed_at"] == "2026-02-08T10:45:30+08:00"
    assert data["window"]["start"] == "2026-02-08T00:00:00+08:00"
    assert first["provenance"]["model"] == "gpt-oss-120b"
    assert first["provenance"]["coverage"]["partial"] is False
    assert len(first["risks"]) == 6


def test_times_are_iso_with_offsets_in_the_window_zone() -> None:
    digest = reference_digest("en")
    utc_item = digest.items[0].model_copy(
        update={
            "commit": digest.items[0].commit.model_copy(
                update={"committed_at": datetime(2026, 2, 8, 2, 45, 30, tzinfo=UTC)}
            )
        }
    )
    data = json.loads(render_json(digest.model_copy(update={"items": (utc_item,)})))
    moment = datetime.fromisoformat(data["items"][0]["committed_at"])
    assert moment.utcoffset() == timedelta(hours=8)
    assert data["items"][0]["committed_at"] == "2026-02-08T10:45:30+08:00"


def test_text_is_utf8_not_escaped_and_output_ends_with_newline() -> None:
    text = render_json(reference_digest("zh"))
    assert "本次提交" in text and "\\u" not in text
    assert text.endswith("}\n")


def test_empty_digest_and_many() -> None:
    data = json.loads(render_json(empty_digest()))
    assert data["items"] == [] and data["stats"]["total"] == 0
    many = json.loads(render_json_many([reference_digest("zh"), empty_digest()]))
    assert [d["stats"]["total"] for d in many] == [9, 0]


def test_commit_json_has_links_built_from_the_repo() -> None:
    item = reference_digest("zh").items[1]
    ghe = f"https://ghe.example.com/{item.commit.repo}"
    data = json.loads(render_commit_json(item, repo_url=ghe + "/"))
    assert data["url"] == f"{ghe}/commit/{item.commit.sha}"
    assert data["pr_url"] == f"{ghe}/pull/18438"
    assert json.loads(render_commit_json(item, repo_url="javascript:x"))["url"] is None
    # Only the repository's own address: another repository's path or plain http gives no link.
    for foreign in ("https://ghe.example.com/o/r/", f"http://ghe.example.com/{item.commit.repo}"):
        data = json.loads(render_commit_json(item, repo_url=foreign))
        assert data["url"] is None and data["pr_url"] is None


@given(st.text(), st.text(), st.text())
def test_arbitrary_text_round_trips(title: str, author: str, summary: str) -> None:
    digest = reference_digest("en")
    item = digest.items[0]
    changed = item.model_copy(
        update={
            "commit": item.commit.model_copy(update={"title": title, "author": author}),
            "analysis": item.analysis.model_copy(update={"summary": summary}),
        }
    )
    data = json.loads(render_json(digest.model_copy(update={"items": (changed,)})))
    assert data["items"][0]["title"] == title
    assert data["items"][0]["author"] == author
    assert data["items"][0]["summary"] == summary

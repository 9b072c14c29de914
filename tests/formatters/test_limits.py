"""Property tests: any Digest renders on every platform within limits, as JSON, inert, complete."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings

from bot.models import INSIGHT_DIMENSIONS, Coverage, Digest, Importance, Insights
from formatters.discord_details import render_discord_details
from formatters.discord_embeds import render_discord
from formatters.feishu_card import render_feishu
from formatters.feishu_details import render_feishu_details
from formatters.limits import DISCORD_MESSAGES_MAX, FEISHU_CARDS_MAX, SLACK_MESSAGES_MAX
from formatters.slack_blocks import render_slack
from formatters.slack_details import render_slack_details
from tests.data.reference_day import reference_digest
from tests.formatters.digest_strategies import digests
from tests.formatters.payload_checks import (
    allowed_urls,
    assert_complete,
    assert_json_roundtrip,
    check_discord_message,
    check_feishu_card,
    check_slack_message,
    check_slack_modal,
)

PROPERTY = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY
@given(digests())
def test_slack_any_digest(digest: Digest) -> None:
    messages = render_slack(digest)
    assert 1 <= len(messages) <= SLACK_MESSAGES_MAX
    allowed = allowed_urls(digest)
    for message in messages:
        check_slack_message(message, allowed)
    assert_json_roundtrip(messages)
    assert_complete(messages, digest)


@PROPERTY
@given(digests())
def test_feishu_any_digest(digest: Digest) -> None:
    cards = render_feishu(digest)
    assert 1 <= len(cards) <= FEISHU_CARDS_MAX
    allowed = allowed_urls(digest)
    for card in cards:
        check_feishu_card(card, allowed)
    assert_json_roundtrip(cards)
    assert_complete(cards, digest)


@PROPERTY
@given(digests())
def test_discord_any_digest(digest: Digest) -> None:
    messages = render_discord(digest)
    assert 1 <= len(messages) <= DISCORD_MESSAGES_MAX
    allowed = allowed_urls(digest)
    for message in messages:
        check_discord_message(message, allowed)
    assert_json_roundtrip(messages)
    assert_complete(messages, digest)


@PROPERTY
@given(digests(max_commits=4))
def test_details_views_any_commit(digest: Digest) -> None:
    allowed = allowed_urls(digest)
    for item in digest.items:
        thread = render_slack_details(item, digest.repo_url, digest.language)
        check_slack_message(thread, allowed)
        check_slack_modal(
            render_slack_details(item, digest.repo_url, digest.language, "modal"), allowed
        )
        check_feishu_card(render_feishu_details(item, digest.repo_url, digest.language), allowed)
        discord = render_discord_details(item, digest.repo_url, digest.language)
        check_discord_message(discord, allowed)
        assert_json_roundtrip([thread, discord])


HUGE = ("<!channel> 中文 😀 [x](https://evil.example) <at id=all></at> @everyone `c` # h " * 900)[
    :70_000
]


def largest_digest() -> Digest:
    """2,000 commits (300 high, 700 medium, 1,000 low) whose every text field is 70 KB."""
    template = reference_digest("zh").items[0]
    analysis = template.analysis.model_copy(
        update={
            "summary": HUGE,
            "scope": (HUGE,) * 50,
            "insights": Insights(**dict.fromkeys(INSIGHT_DIMENSIONS, HUGE)),
            "risks": (HUGE,) * 50,
            "recommendations": (HUGE,) * 50,
            "provenance": template.analysis.provenance.model_copy(
                update={
                    "analyzer": "heuristic",
                    "fallback_reason": "timeout",
                    "coverage": Coverage(files_total=3000, files_sent=12),
                }
            ),
        }
    )
    items = []
    for index in range(2000):
        importance = (
            Importance.HIGH
            if index < 300
            else Importance.MEDIUM
            if index < 1000
            else Importance.LOW
        )
        sha = f"{index:07x}" + template.commit.sha[7:]
        items.append(
            template.model_copy(
                update={
                    "commit": template.commit.model_copy(
                        update={"sha": sha, "title": HUGE, "author": HUGE}
                    ),
                    "analysis": analysis.model_copy(update={"sha": sha, "importance": importance}),
                }
            )
        )
    return reference_digest("zh").model_copy(update={"items": tuple(items), "overview": HUGE})


def test_largest_digest_on_every_platform() -> None:
    digest = largest_digest()
    allowed = allowed_urls(digest)
    slack = render_slack(digest)
    for message in slack:
        check_slack_message(message, allowed)
    feishu = render_feishu(digest)
    for card in feishu:
        check_feishu_card(card, allowed)
    discord = render_discord(digest)
    for message in discord:
        check_discord_message(message, allowed)
    for payloads in (slack, feishu, discord):
        assert_json_roundtrip(payloads)
        # Folded to "sha title" lines, every one of the 2,000 commits is listed.
        assert assert_complete(payloads, digest) == (2000, 0)
    assert len(slack) <= SLACK_MESSAGES_MAX and len(feishu) <= FEISHU_CARDS_MAX
    assert len(discord) <= DISCORD_MESSAGES_MAX
    item = digest.items[0]
    check_slack_modal(render_slack_details(item, digest.repo_url, "zh", "modal"), allowed)
    check_feishu_card(render_feishu_details(item, digest.repo_url, "zh"), allowed)
    check_discord_message(render_discord_details(item, digest.repo_url, "zh"), allowed)

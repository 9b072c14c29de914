"""Property tests: any Digest renders on every platform within limits, as JSON, inert, complete."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import HealthCheck, given, settings

from bot.models import INSIGHT_DIMENSIONS, Alert, Coverage, Digest, Importance, Insights
from formatters.discord_alert import render_discord_alert
from formatters.discord_details import render_discord_details
from formatters.discord_embeds import parse_details_custom_id, render_discord
from formatters.feishu_alert import render_feishu_alert
from formatters.feishu_card import render_feishu
from formatters.feishu_details import render_feishu_details
from formatters.labels import alert_labels_for
from formatters.limits import DISCORD_MESSAGES_MAX, FEISHU_CARDS_MAX, SLACK_MESSAGES_MAX
from formatters.slack_alert import render_slack_alert
from formatters.slack_blocks import parse_details_value, render_slack
from formatters.slack_details import render_slack_details
from tests.data.reference_day import reference_digest
from tests.formatters.digest_strategies import alerts, digests
from tests.formatters.payload_checks import (
    SHOWN,
    allowed_urls,
    assert_complete,
    assert_json_roundtrip,
    check_discord_message,
    check_feishu_card,
    check_slack_message,
    check_slack_modal,
    shown_strings,
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


def _more(payload: Any, platform: str, alert: Alert) -> int:
    """The commits an alert card says it leaves out ("+N more"), read as a client shows it."""
    prefix, _, suffix = alert_labels_for(alert.digest.language).more.partition("{count}")
    pattern = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix))
    texts = [SHOWN[platform](text) for text in shown_strings(payload)]
    return sum(int(m.group(1)) for text in texts for m in pattern.finditer(text))


def _assert_alert_complete(shas: list[str], more: int, alert: Alert) -> None:
    """The shown commits (their Details buttons) are the most important ones, in order, and
    the card counts every other one."""
    items = alert.digest.items
    assert shas == [item.commit.sha[: len(sha)] for item, sha in zip(items, shas, strict=False)]
    assert len(shas) + more == len(items), (len(shas), more, len(items))


@PROPERTY
@given(alerts())
def test_any_alert_on_every_platform(alert: Alert) -> None:
    """0–60 commits with any text (70 KB fields, attacks, CJK), folded or not: one message per
    platform within its limits, inert, and every commit shown or counted."""
    allowed = allowed_urls(alert.digest)
    slack = render_slack_alert(alert)
    check_slack_message(slack, allowed)
    slack_shas = [
        parse_details_value(block["accessory"]["value"])[1]
        for block in slack["blocks"]
        if "accessory" in block
    ]
    _assert_alert_complete(slack_shas, _more(slack, "slack", alert), alert)
    feishu = render_feishu_alert(alert)
    check_feishu_card(feishu, allowed)
    feishu_shas = [
        element["behaviors"][0]["value"]["sha"]
        for element in feishu["body"]["elements"]
        if element["tag"] == "button"
    ]
    _assert_alert_complete(feishu_shas, _more(feishu, "feishu", alert), alert)
    discord = render_discord_alert(alert, footer_tag="dg0123456789abcdef")
    check_discord_message(discord, allowed)
    assert discord["embeds"][0]["footer"]["text"].endswith("dg0123456789abcdef")
    discord_shas = [
        (parse_details_custom_id(button["custom_id"]) or ("", ""))[1]
        for row in discord["components"]
        for button in row["components"]
    ]
    _assert_alert_complete(discord_shas, _more(discord, "discord", alert), alert)
    assert_json_roundtrip([slack, feishu, discord])

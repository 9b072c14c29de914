"""Big digests on every chat platform: every commit listed (folded when needed), within limits."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import discord
import pytest

from bot.models import Digest, Importance
from formatters import discord_embeds, feishu_card, slack_blocks
from formatters.discord_embeds import render_discord
from formatters.feishu_card import render_feishu
from formatters.limits import DISCORD_MESSAGES_MAX, FEISHU_CARDS_MAX, SLACK_MESSAGES_MAX
from formatters.slack_blocks import render_slack
from tests.formatters.builders import copies, with_items
from tests.formatters.payload_checks import (
    allowed_urls,
    assert_complete,
    check_discord_message,
    check_feishu_card,
    check_slack_message,
)

Render = Callable[[Digest], list[dict[str, Any]]]


def _slack(digest: Digest) -> list[dict[str, Any]]:
    messages = render_slack(digest)
    assert len(messages) <= SLACK_MESSAGES_MAX
    for message in messages:
        check_slack_message(message, allowed_urls(digest))  # slack_sdk validates every block
    return messages


def _discord(digest: Digest) -> list[dict[str, Any]]:
    messages = render_discord(digest)
    assert len(messages) <= DISCORD_MESSAGES_MAX
    for message in messages:
        check_discord_message(message, allowed_urls(digest))
        for embed in message["embeds"]:  # discord.py reads every embed back unchanged
            parsed = discord.Embed.from_dict(embed).to_dict()
            assert {key: parsed[key] for key in embed} == embed
    return messages


def _feishu(digest: Digest) -> list[dict[str, Any]]:
    cards = render_feishu(digest)
    assert len(cards) <= FEISHU_CARDS_MAX
    for card in cards:
        check_feishu_card(card, allowed_urls(digest))
    return cards


PLATFORMS: dict[str, Render] = {"slack": _slack, "discord": _discord, "feishu": _feishu}


def month(high: int, medium: int, low: int, language: str = "zh") -> Digest:
    """A 30-day window's digest of copies of the reference commits."""
    items = (
        copies(high, Importance.HIGH, language)  # type: ignore[arg-type]
        + copies(medium, Importance.MEDIUM, language, start=high)  # type: ignore[arg-type]
        + copies(low, Importance.LOW, language, start=high + medium)  # type: ignore[arg-type]
    )
    digest = with_items(items, language)  # type: ignore[arg-type]
    window = digest.window.model_copy(update={"start": digest.window.end - timedelta(days=30)})
    return digest.model_copy(update={"window": window})


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(("high", "medium"), [(10, 40), (40, 120), (100, 200)])
def test_a_30_day_digest_lists_every_commit(platform: str, high: int, medium: int) -> None:
    digest = month(high, medium, 75)
    payloads = PLATFORMS[platform](digest)
    # Every commit's short SHA is in the payloads; none is only counted.
    assert assert_complete(payloads, digest) == (high + medium + 75, 0)


def _line_of(payload: Any, sha: str) -> str:
    """The rendered line that lists `sha`."""
    if isinstance(payload, dict):
        payload = list(payload.values())
    if isinstance(payload, list):
        return next((line for item in payload if (line := _line_of(item, sha))), "")
    if isinstance(payload, str):
        return next((line for line in payload.split("\n") if sha in line), "")
    return ""


@pytest.mark.parametrize("platform", PLATFORMS)
def test_low_commits_fold_first_and_keep_the_others_expanded(platform: str) -> None:
    digest = month(3, 10, 75, "en")
    payloads = PLATFORMS[platform](digest)
    assert assert_complete(payloads, digest) == (88, 0)
    # The first 25 low commits are full lines (author, change type, summary); the other 50
    # are short "sha title" lines.
    first, folded = digest.items[13], digest.items[13 + 30]
    assert first.commit.author in _line_of(payloads, first.commit.sha[:7])
    line = _line_of(payloads, folded.commit.sha[:7])
    assert line and " · " not in line and folded.commit.author not in line
    # High and medium commits keep their Details buttons.
    text = json.dumps(payloads, ensure_ascii=False)
    assert text.count("dg:details:" if platform == "discord" else '"digest_details"') == 13


def test_slack_keeps_details_buttons_while_only_low_commits_are_folded() -> None:
    digest = month(5, 30, 75)
    messages = _slack(digest)
    buttons = [b for m in messages for b in m["blocks"] if b.get("accessory")]
    assert len(buttons) == 35


@pytest.mark.parametrize(
    ("platform", "module", "cap"),
    [
        ("slack", slack_blocks, "SLACK_MESSAGES_MAX"),
        ("discord", discord_embeds, "DISCORD_MESSAGES_MAX"),
        ("feishu", feishu_card, "FEISHU_CARDS_MAX"),
    ],
)
def test_what_even_the_tightest_fold_cannot_list_is_counted_with_how_to_see_it(
    platform: str, module: object, cap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One message for 2,000 commits: even SHAs alone do not fit.
    monkeypatch.setattr(module, cap, 1)
    digest = month(300, 700, 1000, "en")
    payloads = PLATFORMS[platform](digest)
    assert len(payloads) == 1
    shown, stated = assert_complete(payloads, digest)  # the note's count is exact
    assert shown > 100 and stated == 2000 - shown
    text = json.dumps(payloads, ensure_ascii=False)
    note = re.search(r"(\d+) more commits not shown \(([^)]*)\)[^\"]*", text)
    assert note and int(note.group(1)) == stated
    # How to see them: a digest of the days those commits were made in.
    assert "ask for a shorter window to see them" in note.group(0)
    days = r"2026-\d\d-\d\d(\.\.2026-\d\d-\d\d)?"
    assert re.search(rf"`digest sgl-project/sglang {days}`", note.group(0))


@pytest.mark.parametrize("platform", PLATFORMS)
def test_the_details_hint_says_what_works_on_each_platform(platform: str) -> None:
    for language, reply, mention in (
        ("en", "reply `details <sha>` for details", "mention the bot for details"),
        ("zh", "回复 `details <sha>` 查看详情", "@ 机器人查看详情"),
    ):
        digest = month(1, 4, 4, language)
        text = json.dumps(PLATFORMS[platform](digest), ensure_ascii=False)
        # Undo each platform's escaping of the hint's markup.
        text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&#60;", "<")
        text = text.replace("&#62;", ">").replace("&#96;", "`")
        if platform == "discord":
            # A reply without a mention reaches no bot on Discord (no Message Content intent).
            assert mention in text and "`@bot details <sha>`" in text and reply not in text
        else:
            assert reply in text and mention not in text

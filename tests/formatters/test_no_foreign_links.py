"""No clickable foreign link in any rendered format: untrusted text full of generated URLs."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings

from bot.models import Alert, Digest
from formatters.alert_text import render_alert_text
from formatters.discord_alert import render_discord_alert
from formatters.discord_details import render_discord_details
from formatters.discord_embeds import render_discord
from formatters.feishu_alert import render_feishu_alert
from formatters.feishu_card import render_feishu
from formatters.feishu_details import render_feishu_details
from formatters.markdown import render_commit_markdown, render_markdown
from formatters.slack_alert import render_slack_alert
from formatters.slack_blocks import render_slack
from formatters.slack_details import render_slack_details
from tests.data.reference_day import REPO_URL, reference_digest
from tests.formatters.builders import alert_of, with_items, with_text
from tests.formatters.digest_strategies import alerts, digests, link_texts
from tests.formatters.payload_checks import (
    allowed_urls,
    assert_markdown_has_no_clickable_links,
    assert_no_clickable_links,
    check_discord_message,
    check_feishu_card,
    check_slack_message,
    check_slack_modal,
    clickable,
)

PROPERTY = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _every_format(digest: Digest) -> None:
    allowed = allowed_urls(digest)
    slack = render_slack(digest)
    for message in slack:
        check_slack_message(message, allowed)
    assert_no_clickable_links(slack, "slack")
    feishu = render_feishu(digest)
    for card in feishu:
        check_feishu_card(card, allowed)
    assert_no_clickable_links(feishu, "feishu")
    discord = render_discord(digest)
    for message in discord:
        check_discord_message(message, allowed)
    assert_no_clickable_links(discord, "discord")
    assert_markdown_has_no_clickable_links(render_markdown(digest), allowed)
    for item in digest.items[:3]:
        repo_url, language = digest.repo_url, digest.language
        thread = render_slack_details(item, repo_url, language)
        modal = render_slack_details(item, repo_url, language, "modal")
        check_slack_message(thread, allowed)
        check_slack_modal(modal, allowed)
        assert_no_clickable_links([thread, modal], "slack")
        card = render_feishu_details(item, repo_url, language)
        check_feishu_card(card, allowed)
        assert_no_clickable_links(card, "feishu")
        message = render_discord_details(item, repo_url, language)
        check_discord_message(message, allowed)
        assert_no_clickable_links(message, "discord")
        commit = render_commit_markdown(item, language, repo_url=repo_url)
        assert_markdown_has_no_clickable_links(commit, allowed)
        # Without the digest's address, the analysis links to github.com/<repo> (if owner/name).
        analysis = render_commit_markdown(item.analysis, language, repo=item.commit.repo)
        github = allowed_urls(digest.model_copy(update={"repo_url": ""}))
        assert_markdown_has_no_clickable_links(analysis, github)


@PROPERTY
@given(digests(max_commits=60, text=link_texts))
def test_no_format_carries_a_clickable_link_from_untrusted_text(digest: Digest) -> None:
    _every_format(digest)


def _every_alert_format(alert: Alert) -> None:
    allowed = allowed_urls(alert.digest)
    slack = render_slack_alert(alert)
    check_slack_message(slack, allowed)
    assert_no_clickable_links(slack, "slack")
    feishu = render_feishu_alert(alert)
    check_feishu_card(feishu, allowed)
    assert_no_clickable_links(feishu, "feishu")
    discord = render_discord_alert(alert, footer_tag="dg0123456789abcdef")
    check_discord_message(discord, allowed)
    assert_no_clickable_links(discord, "discord")
    # The console's text: only the commit pages stand on lines of their own.
    text = render_alert_text(alert)
    rest = "\n".join(line for line in text.splitlines() if line.strip() not in allowed)
    assert not clickable(rest), clickable(rest)


@PROPERTY
@given(alerts(text=link_texts))
def test_no_alert_carries_a_clickable_link_from_untrusted_text(alert: Alert) -> None:
    _every_alert_format(alert)


ATTACKS = (
    "https://evil.example/x",
    "http://evil.example",
    "www.evil.example",
    "evil.example/path",
    "ftp://evil.example/x",
    "javascript:alert(document.cookie)",
    "ｈｔｔｐｓ：／／ｅｖｉｌ．ｅｘａｍｐｌｅ/x",  # fullwidth
    "https://ev\u200bil.example/x",  # split by a zero-width space (`clean` drops it)
    "https://evil\u200d.example/x",  # ... by a zero-width joiner (`clean` keeps it)
    "evil\u3002example/x",  # an ideographic full stop, a dot to IDNA
    "https://g\u0456thub.com/sgl-project/sglang",  # a Cyrillic і
    f"{REPO_URL}/../../attacker/repo",  # the repository's own address is no exception
)


@pytest.mark.parametrize("attack", ATTACKS)
def test_each_attack_is_defanged_in_every_format(attack: str) -> None:
    assert clickable(attack), attack  # the check sees it as a link before rendering
    text = f"see {attack} now"
    base = reference_digest("en")
    item = with_text(base.items[0], title=text, author=text, summary=text, risks=(text,))
    digest = with_items([item, *base.items[1:]], language="en", overview=text)
    _every_format(digest)
    _every_alert_format(alert_of([item], "en"))
    rendered = json.dumps(render_slack(digest), ensure_ascii=False)
    assert "[.]" in rendered or "[:]" in rendered


def test_links_the_formatter_makes_stay_clickable() -> None:
    digest = reference_digest("zh")
    high = digest.items[0].commit.sha
    slack = json.dumps(render_slack(digest), ensure_ascii=False)
    assert f"<{REPO_URL}/commit/{high}|00248d8>" in slack
    assert f"<{REPO_URL}/pull/13662|#13662>" in slack
    discord = json.dumps(render_discord(digest), ensure_ascii=False)
    assert f"[`00248d8`]({REPO_URL}/commit/{high})" in discord
    feishu = json.dumps(render_feishu(digest), ensure_ascii=False)
    assert f"[00248d8]({REPO_URL}/commit/{high})" in feishu
    assert f"({REPO_URL}/commit/{high})" in render_markdown(digest)

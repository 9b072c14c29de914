"""Every card links to its digest's web page when serve published one ("Full report")."""

from __future__ import annotations

import json

import pytest

from bot.models import Alert
from formatters.discord_alert import render_discord_alert
from formatters.discord_embeds import render_discord
from formatters.feishu_alert import render_feishu_alert
from formatters.feishu_card import render_feishu
from formatters.slack_alert import render_slack_alert
from formatters.slack_blocks import render_slack
from tests.data.reference_day import reference_digest

PAGE = "https://bot.example.com/reports/7?exp=1773219600&sig=ab12"


def rendered(digest: object) -> list[str]:
    alert = Alert(digest=digest)  # type: ignore[arg-type]
    return [
        json.dumps(render_slack(digest), ensure_ascii=False),  # type: ignore[arg-type]
        json.dumps(render_feishu(digest), ensure_ascii=False),  # type: ignore[arg-type]
        json.dumps(render_discord(digest), ensure_ascii=False),  # type: ignore[arg-type]
        json.dumps(render_slack_alert(alert), ensure_ascii=False),
        json.dumps(render_feishu_alert(alert), ensure_ascii=False),
        json.dumps(render_discord_alert(alert), ensure_ascii=False),
    ]


@pytest.mark.parametrize(("language", "label"), [("en", "Full report"), ("zh", "完整报告")])
def test_each_card_links_its_page(language: str, label: str) -> None:
    digest = reference_digest(language).model_copy(update={"report_url": PAGE})  # type: ignore[arg-type]
    for payload in rendered(digest):
        assert PAGE in payload and label in payload


@pytest.mark.parametrize(
    "url", [None, "javascript:alert(1)", "https://evil.example/x y", "ftp://bot/reports/1"]
)
def test_no_page_or_a_strange_address_gives_no_link(url: str | None) -> None:
    digest = reference_digest("en").model_copy(update={"report_url": url})
    for payload in rendered(digest):
        assert "Full report" not in payload
        assert "javascript:" not in payload and "ftp://" not in payload

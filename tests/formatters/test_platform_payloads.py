"""The CLI's single entry point renders any named platform and refuses unknown ones."""

from __future__ import annotations

import pytest

from formatters.discord_embeds import render_discord
from formatters.feishu_card import render_feishu
from formatters.platform_payloads import FORMATS, render_payloads
from formatters.slack_blocks import render_slack
from tests.data.reference_day import reference_digest


def test_each_format_dispatches_to_its_renderer() -> None:
    digest = reference_digest("zh")
    assert FORMATS == ("slack", "feishu", "discord")
    assert render_payloads(digest, "slack") == render_slack(digest)
    assert render_payloads(digest, " Feishu ") == render_feishu(digest)
    assert render_payloads(digest, "discord") == render_discord(digest)


def test_unknown_format_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="unknown format 'teams'; choose one of slack, feishu"):
        render_payloads(reference_digest("zh"), "teams")


def test_details_payload_per_format() -> None:
    from formatters.discord_details import render_discord_details
    from formatters.feishu_details import render_feishu_details
    from formatters.platform_payloads import render_details_payload
    from formatters.slack_details import render_slack_details

    item = reference_digest("en").items[0]
    url = "https://github.com/sgl-project/sglang"
    assert render_details_payload(item, url, "en", "slack") == render_slack_details(item, url, "en")
    assert render_details_payload(item, url, "en", "feishu") == render_feishu_details(
        item, url, "en"
    )
    assert render_details_payload(item, url, "en", "discord") == render_discord_details(
        item, url, "en"
    )
    with pytest.raises(ValueError, match="unknown format"):
        render_details_payload(item, url, "en", "markdown")

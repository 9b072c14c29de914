"""Alert cards on every platform: golden files (en, zh), hostile text, 60 long commits."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from bot.models import Alert, Importance, Language
from formatters.discord_alert import render_discord_alert
from formatters.feishu_alert import render_feishu_alert
from formatters.slack_alert import render_slack_alert
from tests.formatters.builders import alert_of, copies, golden_alerts, hostile_alerts
from tests.formatters.golden import assert_golden
from tests.formatters.payload_checks import (
    allowed_urls,
    assert_no_clickable_links,
    check_discord_message,
    check_feishu_card,
    check_slack_message,
)

TAG = "dg0123456789abcdef"  # a delivery tag, as the Discord adapter passes it


def _discord(alert: Alert) -> dict[str, Any]:
    return render_discord_alert(alert, footer_tag=TAG)


Render = Callable[[Alert], dict[str, Any]]
Check = Callable[[dict[str, Any], set[str]], None]
PLATFORMS: dict[str, tuple[Render, Check]] = {
    "slack": (render_slack_alert, check_slack_message),
    "feishu": (render_feishu_alert, check_feishu_card),
    "discord": (_discord, check_discord_message),
}
# How each platform shows `<!channel>` / `<at id=all>` / `<@U123>` of the hostile text: as text.
ESCAPED = {
    "slack": "&lt;!channel&gt; &lt;!here&gt; &lt;@U123&gt;",
    "feishu": "&#60;!channel&#62; &#60;!here&#62; &#60;@U123&#62;",
    "discord": "\\\\<!channel\\\\> \\\\<!here\\\\> \\\\<@U123\\\\>",
}


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_golden_alerts(platform: str, language: Language) -> None:
    """A one-commit card with alerts held back, and a force-pushed burst of 12 folded."""
    render, check = PLATFORMS[platform]
    alerts = golden_alerts(language)
    payloads = {name: render(alert) for name, alert in alerts.items()}
    assert_golden(f"{platform}_alert_{language}.json", payloads)
    for name, alert in alerts.items():
        check(payloads[name], allowed_urls(alert.digest))


@pytest.mark.parametrize("index", [0, 1])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_hostile_text_cannot_ping_or_link(platform: str, index: int) -> None:
    render, check = PLATFORMS[platform]
    alert = hostile_alerts()[index]
    payload = render(alert)
    check(payload, allowed_urls(alert.digest))
    assert_no_clickable_links(payload, platform)
    text = json.dumps(payload, ensure_ascii=False)
    assert ESCAPED[platform] in text
    assert "@\u200dhere" in text and "@here" not in text and "http://evil" not in text


@pytest.mark.parametrize("folded", [False, True])
@pytest.mark.parametrize("platform", PLATFORMS)
def test_sixty_long_commits_stay_within_the_limits(platform: str, folded: bool) -> None:
    render, check = PLATFORMS[platform]
    long = "长文本 <!channel> <at id=all></at> @everyone " * 2000
    items = [
        item.model_copy(
            update={
                "analysis": item.analysis.model_copy(update={"summary": long, "risks": (long,) * 5})
            }
        )
        for item in copies(60, Importance.HIGH)
    ]
    alert = alert_of(items, folded=folded)
    check(render(alert), allowed_urls(alert.digest))

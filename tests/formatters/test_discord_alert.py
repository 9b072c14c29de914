"""Discord alert messages: content, embed colour, buttons in rows, the footer tag."""

from __future__ import annotations

from bot.models import Importance
from formatters.discord_alert import render_discord_alert
from formatters.discord_embeds import COLOURS, parse_details_custom_id
from tests.data.reference_day import REPO_URL
from tests.formatters.builders import alert_of, copies, golden_alerts

TAG = "dg0123456789abcdef"


def test_one_commit_message() -> None:
    message = render_discord_alert(golden_alerts("en")["one"], footer_tag=TAG)
    assert message["content"] == "🔴 High-importance commit in sgl-project/sglang"
    [embed] = message["embeds"]
    assert embed["color"] == COLOURS[Importance.HIGH] and embed["url"] == REPO_URL
    description = embed["description"]
    assert description.startswith(f"🔴 [`00248d8`]({REPO_URL}/commit/00248d8")
    assert description.count("⚠️ ") == 2
    assert description.endswith("mention the bot for details: `@bot details <sha>`")
    footer = embed["footer"]["text"]
    assert footer.startswith("3 more alerts held back since 08:40") and footer.endswith(f" · {TAG}")
    [[button]] = [row["components"] for row in message["components"]]
    assert parse_details_custom_id(button["custom_id"]) == ("sgl-project/sglang", "00248d85c798")


def test_the_tag_alone_when_nothing_was_held_back_and_no_footer_without_either() -> None:
    alert = alert_of(copies(1, Importance.MEDIUM))
    [embed] = render_discord_alert(alert, footer_tag=TAG)["embeds"]
    assert embed["footer"] == {"text": TAG} and embed["color"] == COLOURS[Importance.MEDIUM]
    [embed] = render_discord_alert(alert)["embeds"]
    assert "footer" not in embed


def test_folded_message_buttons_fill_action_rows() -> None:
    message = render_discord_alert(golden_alerts("zh")["folded"])
    rows = message["components"]
    assert [len(row["components"]) for row in rows] == [5, 5]
    assert "另有 2 个提交" in message["embeds"][0]["description"]

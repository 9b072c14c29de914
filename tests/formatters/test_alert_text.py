"""The plain-text alert (the console): heading, commits with their pages, notes; inert text."""

from __future__ import annotations

from formatters.alert_text import render_alert_text
from tests.data.reference_day import REPO_URL
from tests.formatters.builders import golden_alerts, hostile_alerts
from tests.formatters.payload_checks import allowed_urls, clickable


def test_one_commit_alert_as_text() -> None:
    text = render_alert_text(golden_alerts("en")["one"])
    lines = text.splitlines()
    assert lines[0] == "🔴 High-importance commit in sgl-project/sglang"
    assert lines[2].startswith("🔴 00248d8 [diffusion] platform: support") and lines[2].endswith(
        "(#13662)"
    )
    assert lines[3] == f"  {REPO_URL}/commit/00248d85c798c6c4cb84aa5a7ac7685178867219"
    assert (
        lines[4] == "Feature (new Ascend NPU platform support) · Makcum888e · 58 files +2113 −287"
    )
    assert text.count("⚠️ ") == 2
    assert text.endswith(
        "3 more alerts held back since 08:40 (quiet hours 2 · rate cap 1); they are in the "
        "daily digest\nreply `details <sha>` for details\n"
    )


def test_folded_alert_as_text() -> None:
    text = render_alert_text(golden_alerts("zh")["folded"])
    assert text.startswith("🔴 sgl-project/sglang 一次推送 12 个提交（强制推送）\n\n")
    assert text.count(f"  {REPO_URL}/commit/") == 10 and "另有 2 个提交" in text


def test_hostile_text_carries_no_link_of_its_own() -> None:
    for alert in hostile_alerts():
        text = render_alert_text(alert)
        allowed = allowed_urls(alert.digest)
        own = [line.strip() for line in text.splitlines() if line.strip() in allowed]
        rest = "\n".join(line for line in text.splitlines() if line.strip() not in own)
        assert own and not clickable(rest), clickable(rest)

"""The platform registry: every entry point's list of platforms, each with its renderers."""

from __future__ import annotations

import os
import sys

import pytest

from formatters.discord_details import render_discord_details
from formatters.discord_embeds import render_discord
from formatters.feishu_card import render_feishu
from formatters.feishu_details import render_feishu_details
from formatters.slack_blocks import render_slack
from formatters.slack_details import render_slack_details
from handlers.registry import PLATFORMS, platform_named
from tests.data.reference_day import reference_digest


def test_the_platforms_in_start_order_with_their_renderers() -> None:
    digest = reference_digest("zh")
    assert [p.name for p in PLATFORMS] == ["slack", "feishu", "discord"]
    assert platform_named("slack").render_digest(digest) == render_slack(digest)
    assert platform_named(" Feishu ").render_digest(digest) == render_feishu(digest)
    assert platform_named("discord").render_digest(digest) == render_discord(digest)


def test_details_renderers() -> None:
    item = reference_digest("en").items[0]
    url = "https://github.com/sgl-project/sglang"
    assert platform_named("slack").render_details(item, url, "en") == render_slack_details(
        item, url, "en"
    )
    assert platform_named("feishu").render_details(item, url, "en") == render_feishu_details(
        item, url, "en"
    )
    assert platform_named("discord").render_details(item, url, "en") == render_discord_details(
        item, url, "en"
    )


def test_an_unknown_platform_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="unknown platform 'teams'; choose one of slack, feishu"):
        platform_named("teams")


def test_naming_the_platforms_loads_no_chat_sdk() -> None:
    """The registry is read by every entry point (even `digest --help`): the SDKs load only
    when a platform is built or checked."""
    import subprocess

    code = (
        "import sys, handlers.registry; "
        "print(sorted(m for m in ('slack_sdk', 'slack_bolt', 'lark_oapi', 'discord', 'aiohttp') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_an_unconfigured_platform_is_skipped_without_loading_its_sdk() -> None:
    """`serve` with Slack only must not pay for lark-oapi and discord.py (nor they for it)."""
    import subprocess

    code = (
        "import sys, types\n"
        "from handlers.registry import PLATFORMS\n"
        "context = types.SimpleNamespace(language=None)\n"
        "for p in PLATFORMS:\n"
        "    settings = p.settings(_env_file=None)\n"
        "    assert p.build(settings, context) is None, p.name\n"
        "print(sorted(m for m in ('slack_sdk', 'slack_bolt', 'lark_oapi', 'discord') "
        "if m in sys.modules))\n"
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FEISHU_", "DISCORD_"))
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    ).stdout
    assert out.strip() == "[]"

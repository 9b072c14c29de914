"""The persistent Details button on Discord: a `DynamicItem` matched by its custom_id template.

The custom_id is the formatter's "dg:details:<repo>:<sha12>" (formatters/discord_embeds.py), so
a click on a digest posted days ago, before a restart, still reaches us: discord.py matches the
template for every component interaction (`client.add_dynamic_items`), no view state needed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import discord

from formatters.discord_embeds import (
    CUSTOM_ID_PREFIX,
    details_custom_id,
    parse_details_custom_id,
)

log = logging.getLogger(__name__)

# The repo part may hold ':' (the formatter splits on the last one); the SHA is 7–40 hex.
DETAILS_TEMPLATE = re.compile(re.escape(CUSTOM_ID_PREFIX) + r"(?P<repo>.*):(?P<sha>[0-9a-f]{7,40})")


@runtime_checkable
class DetailsClickHandler(Protocol):
    """What the client behind a click offers (the Discord bot)."""

    async def on_details_click(
        self, interaction: discord.Interaction[Any], repo: str, sha: str
    ) -> None: ...


class DetailsButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=DETAILS_TEMPLATE,
):
    """One commit's Details button; the click goes to the client's `details_handler`."""

    def __init__(self, repo: str, sha: str, *, label: str = "Details", row: int | None = None):
        custom_id = details_custom_id(repo, sha)
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.secondary, custom_id=custom_id, row=row
            )
        )
        self.repo = repo
        self.sha = sha

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> DetailsButton:
        parsed = parse_details_custom_id(match.group(0))
        repo, sha = parsed if parsed is not None else ("", match.group("sha"))
        label = getattr(item, "label", None) or "Details"
        return cls(repo, sha, label=str(label))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        handler = getattr(interaction.client, "details_handler", None)
        if not isinstance(handler, DetailsClickHandler):
            log.warning("Details click on a client without a handler; ignored")
            return
        await handler.on_details_click(interaction, self.repo, self.sha)


def details_view(components: Sequence[dict[str, Any]]) -> discord.ui.View:
    """The formatter's action rows as a View of DetailsButtons (for webhook follow-ups, which
    take a view rather than raw components). The view is stopped at once: clicks are routed by
    the custom_id template, so discord.py need not keep the view in memory."""
    view = discord.ui.View(timeout=None)
    for row, action_row in enumerate(components):
        for button in action_row.get("components", []):
            parsed = parse_details_custom_id(str(button.get("custom_id") or ""))
            if parsed is None:
                continue
            repo, sha = parsed
            view.add_item(
                DetailsButton(repo, sha, label=str(button.get("label") or "Details"), row=row)
            )
    view.stop()
    return view

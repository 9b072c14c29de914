"""Independent checks of chat payloads: platform limits, structure, inert text, completeness.

These re-derive every limit and rule from the platforms' documentation (not from
formatters.limits) so that a wrong constant in the code cannot make its own test pass.
"""

from __future__ import annotations

import html
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.models import Digest, Language
from formatters.labels import card_labels_for
from tests.formatters.digest_strategies import expected_base

BROADCAST = re.compile(r"@(?:channel|here|everyone)", re.IGNORECASE)
SLACK_TOKEN = re.compile(r"<([^<>]*)>")
MD_LINK = re.compile(r"\[([^\[\]]*)\]\(([^()\s]*)\)")


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def allowed_urls(digest: Digest) -> set[str]:
    """The repository page, its commits and its pull requests: the only permitted link targets."""
    base = expected_base(digest)
    if base is None:
        return set()
    urls = {base}
    for item in digest.items:
        urls.add(f"{base}/commit/{item.commit.sha}")
        if item.pr_number and item.pr_number > 0:
            urls.add(f"{base}/pull/{item.pr_number}")
    return urls


def assert_json_roundtrip(payloads: Any) -> None:
    text = json.dumps(payloads, ensure_ascii=False)
    text.encode("utf-8")  # no lone surrogates
    assert json.loads(text) == payloads


# --- Slack -------------------------------------------------------------------------------


def _slack_texts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        if value.get("type") in ("mrkdwn", "plain_text") and isinstance(value.get("text"), str):
            yield value
        for child in value.values():
            yield from _slack_texts(child)
    elif isinstance(value, list):
        for child in value:
            yield from _slack_texts(child)


def check_slack_blocks(blocks: list[dict[str, Any]], allowed: set[str]) -> int:
    """Validate blocks with slack_sdk and our rules; returns their total text length."""
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()
        if block["type"] == "section":
            assert 0 < utf16(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert 0 < utf16(block["text"]["text"]) <= 150
        if block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
        accessory = block.get("accessory")
        if accessory:
            assert utf16(accessory["text"]["text"]) <= 75
            assert len(accessory["value"]) <= 2000
            assert len(accessory["action_id"]) <= 255
    total = 0
    for text_object in _slack_texts(blocks):
        text = text_object["text"]
        total += utf16(text)
        assert not BROADCAST.search(text), text
        if text_object["type"] == "plain_text":
            assert not re.search(r"<[!@#]", text), text
            continue
        assert text_object.get("verbatim") is True
        for token in SLACK_TOKEN.findall(text):
            url, bar, label = token.partition("|")
            assert bar and url in allowed, token
            assert label and "<" not in label
        rest = SLACK_TOKEN.sub("", text)
        assert "<" not in rest and ">" not in rest, text
    return total


def check_slack_message(message: dict[str, Any], allowed: set[str]) -> None:
    assert set(message) <= {"text", "blocks", "unfurl_links", "unfurl_media"}
    assert message["unfurl_links"] is False and message["unfurl_media"] is False
    fallback = message["text"]
    assert 0 < utf16(fallback) <= 40_000
    assert "<" not in fallback and not BROADCAST.search(fallback)
    assert 1 <= len(message["blocks"]) <= 50
    assert check_slack_blocks(message["blocks"], allowed) <= 10_000


def check_slack_modal(view: dict[str, Any], allowed: set[str]) -> None:
    View(**view).validate_json()
    assert 1 <= len(view["blocks"]) <= 100
    assert utf16(view["title"]["text"]) <= 24
    assert check_slack_blocks(view["blocks"], allowed) <= 20_000


# --- Discord -----------------------------------------------------------------------------


def _discord_visible(text: str) -> tuple[str, list[str]]:
    """Markdown-significant text (escaped characters and code spans become U+0001) and spans."""
    visible: list[str] = []
    spans: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and index + 1 < len(text):
            visible.append("\x01")
            index += 2
        elif char == "`":
            end = text.find("`", index + 1)
            assert end != -1, f"unpaired backtick in {text!r}"
            spans.append(text[index + 1 : end])
            visible.append("\x01")
            index = end + 1
        else:
            visible.append(char)
            index += 1
    return "".join(visible), spans


def check_discord_markdown(text: str, allowed: set[str]) -> None:
    visible, spans = _discord_visible(text)
    assert "<" not in visible, text
    assert not BROADCAST.search(visible) and not any(BROADCAST.search(s) for s in spans), text
    for match in MD_LINK.finditer(visible):
        assert match.group(2) in allowed, text
    rest = MD_LINK.sub("", visible)
    assert "[" not in rest and "]" not in rest and "](" not in rest, text
    for line in rest.split("\n"):
        assert not line.lstrip().startswith(("#", ">", "-", "+")), text
    assert "||" not in rest


def check_discord_message(message: dict[str, Any], allowed: set[str]) -> None:
    assert set(message) == {"content", "embeds", "components", "allowed_mentions"}
    assert message["allowed_mentions"] == {"parse": []}
    content = message["content"]
    assert content is None or utf16(content) <= 2000
    if content:
        check_discord_markdown(content, allowed)
    embeds = message["embeds"]
    assert content or embeds
    assert len(embeds) <= 10
    total = 0
    for embed in embeds:
        assert set(embed) <= {"title", "description", "url", "color", "fields", "footer", "author"}
        assert embed.get("url") is None or embed["url"] in allowed
        assert 0 <= embed["color"] <= 0xFFFFFF
        title, description = embed.get("title", ""), embed.get("description", "")
        assert utf16(title) <= 256 and utf16(description) <= 4096
        assert title or description or embed.get("fields")
        for text in (title, description):
            check_discord_markdown(text, allowed)
        fields = embed.get("fields", [])
        assert len(fields) <= 25
        for field in fields:
            assert 0 < utf16(field["name"]) <= 256 and 0 < utf16(field["value"]) <= 1024
            check_discord_markdown(field["name"], allowed)
            check_discord_markdown(field["value"], allowed)
        footer = embed.get("footer", {}).get("text", "")
        assert utf16(footer) <= 2048
        assert not re.search(r"<[@#!:/]", footer) and not BROADCAST.search(footer)
        total += utf16(title) + utf16(description) + utf16(footer)
        total += sum(utf16(f["name"]) + utf16(f["value"]) for f in fields)
    assert total <= 6000
    rows = message["components"]
    assert len(rows) <= 5
    custom_ids = []
    for row in rows:
        assert row["type"] == 1 and 1 <= len(row["components"]) <= 5
        for button in row["components"]:
            assert button["type"] == 2 and button["style"] in (1, 2, 3, 4)
            assert 0 < utf16(button["label"]) <= 80 and not re.search(r"<[@#!]", button["label"])
            assert 0 < len(button["custom_id"]) <= 100
            custom_ids.append(button["custom_id"])
    assert len(custom_ids) == len(set(custom_ids))


# --- Feishu ------------------------------------------------------------------------------


def feishu_request_bytes(card: dict[str, Any], *, compact: bool = True) -> int:
    separators = (",", ":") if compact else (", ", ": ")
    content = json.dumps(card, ensure_ascii=False, separators=separators)
    body = {"receive_id": "x" * 64, "msg_type": "interactive", "content": content, "uuid": "x" * 50}
    return len(json.dumps(body, ensure_ascii=False).encode("utf-8"))


def _feishu_tags(value: Any) -> int:
    if isinstance(value, dict):
        return int("tag" in value) + sum(_feishu_tags(v) for v in value.values())
    if isinstance(value, list):
        return sum(_feishu_tags(v) for v in value)
    return 0


def check_feishu_markdown(content: str, allowed: set[str]) -> None:
    assert content and "<" not in content and ">" not in content, content
    for match in MD_LINK.finditer(content):
        assert match.group(2) in allowed, content
    rest = MD_LINK.sub("", content)
    assert "[" not in rest and "]" not in rest, content
    for line in rest.split("\n"):
        stripped = line.lstrip()
        assert not stripped.startswith(("#", ">", "+", "=")), content
        assert not re.match(r"-(?! )", stripped), content  # only our own "- " bullets


def _check_feishu_elements(elements: list[Any], allowed: set[str], depth: int) -> None:
    assert isinstance(elements, list) and elements
    for element in elements:
        tag = element["tag"]
        if tag == "markdown":
            assert set(element) <= {"tag", "content", "text_size"}
            check_feishu_markdown(element["content"], allowed)
        elif tag == "collapsible_panel":
            assert depth == 0 and set(element) <= {"tag", "expanded", "header", "elements"}
            assert element["expanded"] is False
            title = element["header"]["title"]
            assert set(element["header"]) == {"title"} and title["tag"] == "markdown"
            check_feishu_markdown(title["content"], allowed)
            _check_feishu_elements(element["elements"], allowed, depth + 1)
        elif tag == "button":
            assert set(element) <= {"tag", "text", "type", "size", "behaviors"}
            assert element["text"]["tag"] == "plain_text"
            assert 0 < len(element["text"]["content"]) <= 100
            [behaviour] = element["behaviors"]
            assert behaviour["type"] == "callback"
            assert behaviour["value"]["action"] == "digest_details"
            assert set(behaviour["value"]) <= {"action", "repo", "sha"}
        else:
            raise AssertionError(f"unexpected tag {tag}")


def check_feishu_card(card: dict[str, Any], allowed: set[str]) -> None:
    assert card["schema"] == "2.0" and set(card) == {"schema", "config", "header", "body"}
    config = card["config"]
    assert set(config) <= {"update_multi", "width_mode", "summary"} and config["update_multi"]
    assert set(config["summary"]) == {"content"}
    header = card["header"]
    assert set(header) <= {"title", "subtitle", "template"}
    assert header["template"] in {"red", "orange", "green", "grey"}
    for key in ("title", "subtitle"):
        assert header[key]["tag"] == "plain_text" and header[key]["content"]
    assert set(card["body"]) == {"elements"}
    _check_feishu_elements(card["body"]["elements"], allowed, 0)
    serialised = json.dumps(card, ensure_ascii=False)
    assert not re.search(r"<(?:at|font|a|link|person)\b", serialised), serialised[:500]
    assert not BROADCAST.search(serialised)
    assert _feishu_tags(card) <= 200
    assert feishu_request_bytes(card) <= 25_000
    assert feishu_request_bytes(card, compact=False) <= 30 * 1024


# --- clickable links in text ------------------------------------------------------------------
# What a client turns into a link in text by itself: Slack, Discord and Feishu link URLs in
# message text, GitHub's Markdown autolinks `www.` and `http(s)://`
# (https://github.github.com/gfm/#autolinks-extension-), a terminal links any `scheme://`.
# "Clickable" here is any of: a `scheme://host`; a `www.host`; a bare `domain.tld/` (a host
# followed by a path, a query or a port); a scheme opened without `//` (`javascript:x`);
# a mail address. Read on what a URL parser sees: NFKC (fullwidth `ｈｔｔｐｓ：／／`), the IDNA
# dots `。｡．` (https://www.unicode.org/reports/tr46/), no invisible or combining characters.

CLICKABLE = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]{0,31}:[/\\]{2}[^\s/\\]"
    r"|(?<![\w-])(?<![\w-]\.)www\d{0,3}\.[\w-]"
    r"|(?<![\w-])(?<![\w-]\.)(?:[\w-]+\.)+[^\W\d_]{2,}(?:/|\?|:\d)"
    r"|(?<![\w+.-])(?:javascript|vbscript|data|mailto|file):[^\s:]"
    r"|(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}",
    re.IGNORECASE,
)
# Keys whose strings are data, not shown: button values and ids, the embed URL (checked above).
_NOT_SHOWN = {"value", "action_id", "block_id", "custom_id", "url", "private_metadata"}


def url_skeleton(text: str) -> str:
    text = unicodedata.normalize("NFKC", text.translate(_IDNA_DOTS))
    return "".join(c for c in text if unicodedata.category(c) not in ("Cf", "Mn", "Me"))


_IDNA_DOTS = str.maketrans(dict.fromkeys("\u3002\uff0e\uff61", "."))


def clickable(text: str) -> list[str]:
    """The clickable links in `text` as a reader's client shows it."""
    return CLICKABLE.findall(url_skeleton(text))


def shown_strings(payload: Any) -> Iterator[str]:
    """Every string of a payload that a client shows."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key not in _NOT_SHOWN:
                yield from shown_strings(value)
    elif isinstance(payload, list):
        for value in payload:
            yield from shown_strings(value)
    elif isinstance(payload, str):
        yield payload


def _slack_shown(text: str) -> str:
    return html.unescape(SLACK_TOKEN.sub(lambda m: m.group(1).partition("|")[2], text))


# Our own links (targets checked by the platform checks); the label may hold escapes.
_OWN_MD_LINK = re.compile(r"\[((?:\\.|[^\[\]\\])*)\]\((https://[^()\s]*)\)")


def _discord_shown(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", _OWN_MD_LINK.sub(r"\1", text))


def _feishu_shown(text: str) -> str:
    return html.unescape(_OWN_MD_LINK.sub(r"\1", text))


SHOWN = {"slack": _slack_shown, "discord": _discord_shown, "feishu": _feishu_shown}


def assert_no_clickable_links(payloads: Any, platform: str) -> None:
    """No text of a chat payload carries a link of its own (our links are markup, checked by
    the platform checks: Slack `<url|label>`, Markdown `[label](url)`)."""
    for text in shown_strings(payloads):
        found = clickable(SHOWN[platform](text))
        assert not found, (found, text[:300])


def assert_markdown_has_no_clickable_links(markdown: str, allowed: set[str]) -> None:
    """The same for a Markdown report, read raw (a terminal): only its own links, to allowed
    pages, are taken out (the Markdown tests check its link structure)."""
    raw = re.sub(
        r"\]\((https://[^()\s]*)\)",
        lambda match: "]" if match.group(1) in allowed else match.group(0),
        markdown,
    )
    shown = html.unescape(re.sub(r"\\(.)", r"\1", raw))
    found = clickable(shown)
    assert not found, found


# --- completeness ------------------------------------------------------------------------


def _count_pattern(template: str) -> re.Pattern[str]:
    prefix, _, suffix = template.partition("{count}")
    suffix = re.split(r"[（(`<]", suffix, maxsplit=1)[0]
    return re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix))


def stated_omitted(texts: Iterable[str], language: Language) -> int:
    """Commits the payloads say they left out (the "N more commits not shown" note)."""
    pattern = _count_pattern(card_labels_for(language).omitted_commits)
    return sum(int(m.group(1)) for text in texts for m in pattern.finditer(text))


def assert_complete(payloads: Any, digest: Digest) -> tuple[int, int]:
    """Every commit is shown (its short SHA as a token) or counted in a note; (shown, stated)."""
    text = json.dumps(payloads, ensure_ascii=False)
    tokens = set(re.findall(r"(?<![0-9a-f])[0-9a-f]{7}(?![0-9a-f])", text))
    missing = [item for item in digest.items if item.commit.sha[:7] not in tokens]
    stated = stated_omitted([text], digest.language)
    assert stated == len(missing), (stated, len(missing), len(digest.items))
    return len(digest.items) - len(missing), stated

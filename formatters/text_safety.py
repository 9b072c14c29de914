"""One rule set for untrusted text: clean, clip, chat-platform escaping, SHA checks, repo links."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

# Everything a digest shows may be hostile: commit titles, author names, file names, PR bodies
# and the LLM's own output. Every renderer (Markdown, Slack, Discord, Feishu, JSON links) goes
# through the functions below, so there is exactly one rule for each of these questions.

ELLIPSIS = "…"
ZWJ = "\u200d"  # zero-width joiner: breaks a mention keyword without changing what people see

Escaper = Callable[[str], str]

# --- plain text --------------------------------------------------------------------------------

# \r\n, \r and the Unicode line / paragraph separators all become \n (a chat client may break
# a line at U+2028, so text could otherwise fake a new line that no escaper sees).
_LINE_BREAKS = re.compile(r"\r\n|\r|\u2028|\u2029")
# Removed by `clean`:
# - C0 controls except \t and \n, DEL and C1 controls;
# - bidi controls, which make text read differently from what it is: the Arabic letter mark,
#   LRM / RLM, embeddings and overrides (U+202A–U+202E), isolates (U+2066–U+2069) and the
#   deprecated format controls U+206A–U+206F;
# - invisible zero-width characters: zero-width space, word joiner, invisible operators
#   (U+2060–U+2064) and the BOM / zero-width no-break space.
# ZWNJ and ZWJ (U+200C, U+200D) stay: scripts and emoji sequences (👨‍👩‍👧) need them.
_UNPRINTABLE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 (not \t, \n), DEL, C1
    r"\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u206a-\u206f"  # bidi controls
    r"\u200b\u2060-\u2064\ufeff]"  # zero-width space, word joiner, invisible operators, BOM
)
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def clean(text: str) -> str:
    """Text any platform and `json.dumps` accept: \\n line breaks, tabs as spaces, no controls,
    no bidi or zero-width controls, lone surrogates replaced by U+FFFD."""
    text = _LINE_BREAKS.sub("\n", text).replace("\t", " ")
    return _SURROGATE.sub("\ufffd", _UNPRINTABLE.sub("", text))


def lines(text: str) -> list[str]:
    """The non-empty, stripped lines of `text` cleaned (how multi-point fields are stored)."""
    return [line.strip() for line in clean(text).split("\n") if line.strip()]


def one_line(text: str) -> str:
    """`text` cleaned, with line breaks and runs of spaces collapsed into single spaces."""
    return " ".join(clean(text).split())


def text_length(text: str) -> int:
    """Length in UTF-16 code units: what JavaScript counts, never less than code points."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def clip(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """At most `limit` UTF-16 units of `text` (so never more code points); a cut text ends
    with `ellipsis`, and nothing fits a limit below the ellipsis' own length ("")."""
    if text_length(text) <= limit:
        return text
    budget = limit - text_length(ellipsis)
    if budget < 0:
        return ""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            return text[:index].rstrip() + ellipsis
    return text  # unreachable: the whole text would have fitted


def fit(text: str, limit: int, escape: Escaper, ellipsis: str = ELLIPSIS) -> str:
    """`escape(text)` in at most `limit` UTF-16 units, cutting the raw text (never an escape).

    Cutting before escaping means an entity or backslash escape is never split and a code span
    that loses its closing backtick is escaped as plain text, so the result is always inert.
    """
    text = clean(text)
    if text_length(text) <= limit:
        escaped = escape(text)
        if text_length(escaped) <= limit:
            return escaped
    budget = limit - text_length(ellipsis)
    if budget < 0:
        return ""
    # Escaping never shortens text, so a prefix longer than `limit` code points cannot fit.
    low, high = 0, min(len(text), limit)
    while low < high:
        middle = (low + high + 1) // 2
        if text_length(escape(text[:middle].rstrip())) <= budget:
            low = middle
        else:
            high = middle - 1
    return escape(text[:low].rstrip()) + ellipsis


_AREA = re.compile(r"^([^`：:\n]{1,24}?)(：|: )\s*(\S.*)$", re.DOTALL)


def split_area(text: str) -> tuple[str | None, str]:
    """("area", "advice") of a cleaned "area：advice" / "area: advice" entry, else (None, text)."""
    match = _AREA.match(clean(text).strip())
    if not match:
        return None, text
    return match.group(1).strip(), match.group(3)


# --- chat-platform escaping ----------------------------------------------------------------------
# Each escaper cleans its input, keeps the neutral model's single-backtick inline code where the
# platform renders it safely and otherwise makes every structural character literal. Broadcast
# words (@everyone, @here, @channel) always get a zero-width joiner. Markdown reports use
# formatters.markdown_text instead.

_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_BROADCAST = re.compile(r"@(?=(?:everyone|here|channel))", re.IGNORECASE)


def _break_broadcasts(text: str) -> str:
    return _BROADCAST.sub("@" + ZWJ, text)


def _with_code_spans(
    text: str, plain: Callable[[str], str], code: Callable[[str], str | None]
) -> str:
    """Escape `text` with `plain`, keeping `code span` bodies that `code` accepts (else plain)."""
    out: list[str] = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        body = code(match.group(1))
        if body is None:
            continue
        out.append(plain(text[position : match.start()]))
        out.append(f"`{body}`")
        position = match.end()
    out.append(plain(text[position:]))
    return "".join(out)


def escape_plain(text: str) -> str:
    """One line of untrusted text for fields shown as plain text (Slack plain_text, Feishu
    plain_text, Discord footers and labels): not parsed there, but `<` and the broadcast words
    are broken with a zero-width joiner anyway, should a client or a forward ever parse them."""
    return _break_broadcasts(one_line(text).replace("<", "<" + ZWJ))


# Slack mrkdwn: `& < >` become entities, so `<!channel>`, `<@U123>`, `<#C1>` and `<url|text>`
# show as text (https://docs.slack.dev/messaging/formatting-message-text#escaping); renderers
# also set `verbatim: true`.


def escape_slack(text: str) -> str:
    """Slack mrkdwn: `& < >` as entities (the only characters Slack parses as control sequences)."""
    text = clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _break_broadcasts(text)


# Discord markdown: punctuation is backslash-escaped (`<` too, so `<@123>`, `<@&1>`, `<#1>` and
# `</cmd:1>` are inert); payloads also carry `allowed_mentions: {"parse": []}`.

_DISCORD_SPECIAL = re.compile(r"[\\*_~`|>#\[\]<]")
_DISCORD_LINE_START = re.compile(r"(?m)^(\s*)([-+])")
_DISCORD_ORDERED = re.compile(r"(?m)^(\s*\d+)([.)])")


def _discord_plain(text: str) -> str:
    text = _DISCORD_SPECIAL.sub(lambda match: "\\" + match.group(0), text)
    text = _DISCORD_LINE_START.sub(lambda match: match.group(1) + "\\" + match.group(2), text)
    text = _DISCORD_ORDERED.sub(lambda match: match.group(1) + "\\" + match.group(2), text)
    return _break_broadcasts(text)


def _discord_code(body: str) -> str | None:
    # Discord renders nothing inside inline code; only the broadcast words are still broken.
    return _break_broadcasts(body)


def escape_discord(text: str) -> str:
    """Discord markdown: punctuation backslash-escaped, inline code kept, mentions inert."""
    return _with_code_spans(clean(text), _discord_plain, _discord_code)


# Feishu / Lark lark_md: structural characters become numeric entities, the escaping the card
# docs prescribe (https://open.feishu.cn/document/feishu-cards/card-json-v2-components/
# content-components/rich-text), so `<at id=all>`, `<at user_id="all">`, `<font>` and `[x](y)`
# stay text.

_FEISHU_TABLE = str.maketrans({char: f"&#{ord(char)};" for char in "&<>[]*_~`#\\|"})
_FEISHU_LINE_START = re.compile(r"(?m)^(\s*)([-+=])")
_FEISHU_ORDERED = re.compile(r"(?m)^(\s*\d+)([.)])")
_FEISHU_CODE_UNSAFE = frozenset("<>&[]\\")


def _feishu_plain(text: str) -> str:
    text = text.translate(_FEISHU_TABLE)
    text = _FEISHU_LINE_START.sub(lambda match: f"{match.group(1)}&#{ord(match.group(2))};", text)
    text = _FEISHU_ORDERED.sub(lambda match: f"{match.group(1)}&#{ord(match.group(2))};", text)
    return _break_broadcasts(text)


def _feishu_code(body: str) -> str | None:
    # Inside a code span entities are not decoded, so only bodies without tag, entity or link
    # characters stay code; anything else is escaped as plain text (backticks included).
    return None if _FEISHU_CODE_UNSAFE.intersection(body) else _break_broadcasts(body)


def escape_feishu(text: str) -> str:
    """Feishu markdown: structural characters as `&#N;` entities, safe inline code kept."""
    return _with_code_spans(clean(text), _feishu_plain, _feishu_code)


# --- SHAs and links to the repository's own pages -----------------------------------------------
# Links are never taken from text: `RepoLinks` builds the repository, commit and pull-request
# URLs from the digest's own repository address and validated SHAs / numbers.

_SHA = re.compile(r"[0-9a-f]{7,40}")
_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})")
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
_HOST = re.compile(
    r"(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
)
MAX_PULL_NUMBER = 10**12


def valid_sha(sha: str) -> str | None:
    """`sha` stripped and lower-cased when it is 7–40 hexadecimal digits, else None."""
    sha = sha.strip().lower()
    return sha if _SHA.fullmatch(sha) else None


def _owner_name(path: str) -> tuple[str, str] | None:
    parts = path.split("/")
    if len(parts) != 2:
        return None
    owner, name = parts
    if not _OWNER.fullmatch(owner) or not _NAME.fullmatch(name) or name in (".", ".."):
        return None
    return owner, name


@dataclass(frozen=True)
class RepoLinks:
    """URLs of one repository's own pages; `base` is None when no safe address is known."""

    base: str | None

    @classmethod
    def for_repo(cls, repo: str, repo_url: str = "") -> RepoLinks:
        """From the digest's `repo_url` or else github.com/`repo`.

        `repo_url` must be https, a plain host name (optional port), no credentials, query or
        fragment, and an /owner/name path (optional ".git") equal to `repo` when `repo` is an
        owner/name (a local checkout path may name any repository).
        """
        named = _owner_name(repo.strip())
        if not repo_url.strip():
            return cls(f"https://github.com/{named[0]}/{named[1]}" if named else None)
        try:
            parts = urlsplit(repo_url.strip())
            port = parts.port
        except ValueError:
            return cls(None)
        host = parts.hostname or ""
        if (
            parts.scheme != "https"
            or parts.username is not None
            or parts.password is not None
            or parts.query
            or parts.fragment
            or not _HOST.fullmatch(host)
        ):
            return cls(None)
        path = parts.path.strip("/")
        path = path.removesuffix(".git")
        found = _owner_name(path)
        if found is None or (named is not None and path.lower() != "/".join(named).lower()):
            return cls(None)
        authority = f"{host.lower()}:{port}" if port else host.lower()
        return cls(f"https://{authority}/{found[0]}/{found[1]}")

    def commit(self, sha: str) -> str | None:
        """`{base}/commit/{sha}` for a valid SHA."""
        checked = valid_sha(sha)
        return f"{self.base}/commit/{checked}" if self.base and checked else None

    def pull(self, number: int | None) -> str | None:
        """`{base}/pull/{number}` for a positive pull-request number."""
        if (
            self.base
            and isinstance(number, int)
            and not isinstance(number, bool)
            and 0 < number < MAX_PULL_NUMBER
        ):
            return f"{self.base}/pull/{number}"
        return None

"""One rule set for untrusted text: clean, clip, defang links, chat escaping, SHAs, repo links."""

from __future__ import annotations

import bisect
import re
import unicodedata
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


# --- links in untrusted text -------------------------------------------------------------------
# Clients turn a URL in plain text into a link on their own: Slack, Discord and Feishu in message
# text, GitHub's Markdown for `www.` and `http(s)://` (the autolink extension), a terminal
# (`digestbot chat`, the CLI) for any `scheme://`. A commit author or a poisoned LLM reply must
# never hand readers a clickable link, so every escaper below (and formatters.markdown_text)
# defangs what such a linkifier could take, before escaping:
#
#   https://evil.example/x    ->  hxxps[:]//evil[.]example/x   any `scheme://`: http(s) as hxxp(s),
#   ftp://evil.example        ->  ftp[:]//evil[.]example       the colon as [:], host dots as [.]
#   javascript:alert(1)       ->  javascript[:]alert(1)        schemes that need no `//`
#   www.evil.example          ->  www[.]evil[.]example
#   evil.example/x            ->  evil[.]example/x             a bare host followed by a path,
#   evil.example:8080         ->  evil[.]example:8080          a query or a port (any TLD),
#   evil.com                  ->  evil[.]com                   or alone with a TLD of _LINK_TLDS
#   a@evil.example            ->  a@evil[.]example             mail addresses
#
# Why defang rather than inline code: code is no shelter everywhere (a terminal links a URL
# inside backticks too, plain-text fields have no code, a Feishu code span cannot hold every
# character), while the defanged text reads the same on every surface and stays inert there.
# Why no exception for the repository's own address: a URL in text cannot be checked the way
# `RepoLinks` checks the ones a formatter builds (look-alike hosts, `/../` paths), and the cards
# already link every commit and pull request they name, so untrusted text carries no clickable
# link at all.
#
# A bare host alone is a link only with a TLD clients link and phishing favours (_LINK_TLDS):
# file names and code (`setup.py`, `README.md`, `x.to(device)`, `logger.info`) stay readable.
#
# Detection reads a skeleton of the text: NFKC (fullwidth `ｈｔｔｐｓ：／／`, `․`), the IDNA
# label separators `。｡．` as dots (https://www.unicode.org/reports/tr46/#Notation), without
# format characters or combining marks (`clean` keeps ZWJ and ZWNJ, and a soft hyphen or a
# joiner inside a URL must not hide it). The replacements are made in the original text.

_LINK_TLD_NAMES = (
    "com net org edu gov mil int biz io co ai me tv gg ly app dev xyz top site online website "
    "shop club icu vip cloud tech blog news live link click cn ru uk de jp fr eu us ca au br kr "
    "tw hk nl se ch es tk ml ga cf gq pw ws su"
)
_LINK_TLDS = frozenset(_LINK_TLD_NAMES.split())
# Schemes a client may open without `//` after the colon.
_BARE_SCHEME_NAMES = (
    "javascript vbscript data file mailto tel sms xmpp http https ftp ftps sftp ssh irc ircs news "
    "nntp telnet steam slack discord tg intent feishu lark"
)
_BARE_SCHEMES = frozenset(_BARE_SCHEME_NAMES.split())
_SCHEME_TAIL = re.compile(r"[a-z]+$")  # "x.javascript" ends in the scheme "javascript"
# `scheme:`, from the start of a run of letters ("1https:" holds the scheme "https").
_SCHEME = re.compile(r"(?<![A-Za-z])([A-Za-z][A-Za-z0-9+.-]*):")
_SLASHES = re.compile(r"[/\\]{2}")
# The authority after `scheme://`.
_AUTHORITY = re.compile(r"[/\\]*([^\s/\\?#<>\"'`|]*)")
# A host starts after anything but a word character or a dot that follows one ("x.evil.com" is
# one host; "...evil.com" starts at "e"): one start per run, so matching stays linear.
_HOST_START = r"(?<![\w-])(?<![\w-]\.)"
_WWW = re.compile(r"(?i)www\d{0,3}\.[\w-]+(?:\.[\w-]+)*")  # anywhere: "awww.x" too
_EMAIL = re.compile(r"(?<=[\w.+-])@([\w-]+(?:\.[\w-]+)+)")  # the domain after a local part
_BARE_HOST = re.compile(
    rf"{_HOST_START}(?:[\w-]+\.)+([^\W\d_]{{2,63}}|xn--[a-z0-9-]{{1,59}})(?![\w-]|\.[\w-])"
    r"(?P<path>[/?]|:\d)?"
)
_IDNA_DOTS = frozenset("\u3002\uff0e\uff61")
# What every rule above needs: a scheme's colon after a letter, or a dot before a label.
_MAY_LINK = re.compile(r"[A-Za-z0-9+.-]:|\.[\w-]")


def _skeleton_char(char: str) -> str:
    if char in _IDNA_DOTS:
        return "."
    if unicodedata.category(char) in ("Cf", "Mn", "Me"):
        return ""
    return unicodedata.normalize("NFKC", char)


class _SkeletonTable(dict[int, str]):
    """A `str.translate` table from a character to what a URL parser reads, filled on use."""

    def __missing__(self, code: int) -> str:
        value = self[code] = _skeleton_char(chr(code))
        return value


_SKELETON = _SkeletonTable()


def _origins(text: str, skeleton: str) -> list[int] | None:
    """The index in `text` of each character of its `skeleton` (None: the same indexes)."""
    if skeleton is text or (
        len(skeleton) == len(text)
        and all(len(_SKELETON[ord(char)]) == 1 for char in set(text) if not char.isascii())
    ):
        return None
    origin: list[int] = []
    for index, char in enumerate(text):
        origin.extend([index] * len(_SKELETON[ord(char)]))
    return origin


def defang(text: str) -> str:
    """`text` with every URL, `www.` host, mail domain and link-like bare host made unclickable
    (see the table above); everything else is unchanged."""
    skeleton = text if text.isascii() else text.translate(_SKELETON)
    if not _MAY_LINK.search(skeleton):
        return text
    marks: dict[int, str] = {}  # skeleton index -> what its character becomes

    def dots(start: int, end: int) -> None:
        index = skeleton.find(".", start, end)
        while index != -1:
            marks[index] = "[.]"
            index = skeleton.find(".", index + 1, end)

    for match in _SCHEME.finditer(skeleton):
        scheme, colon = match.group(1).lower(), match.end(1)
        if _SLASHES.match(skeleton, colon + 1):
            marks[colon] = "[:]"
            if scheme in ("http", "https"):
                start = match.start(1)
                for index in (start + 1, start + 2):
                    marks[index] = "X" if skeleton[index].isupper() else "x"
            authority = _AUTHORITY.match(skeleton, colon + 1)
            if authority:
                dots(authority.start(1), authority.end(1))
        # Not before a space (prose: "data: …"); the end of the text counts, a cut may follow.
        elif skeleton[colon + 1 : colon + 2] not in (" ", "\n", ":"):
            tail = _SCHEME_TAIL.search(scheme)
            if tail and tail.group(0) in _BARE_SCHEMES:
                marks[colon] = "[:]"
    for match in _WWW.finditer(skeleton):
        dots(match.start(), match.end())
    for match in _EMAIL.finditer(skeleton):
        dots(match.start(1), match.end(1))
    for match in _BARE_HOST.finditer(skeleton):
        if match.group("path") or match.group(1).lower() in _LINK_TLDS:
            dots(match.start(), match.end(1))
    if not marks:
        return text
    origin = _origins(text, skeleton)
    # The marks of each original character: the skeleton of a character may be longer ("⒈" is
    # "1.") or empty (a joiner), so a mark replaces its part of the character's skeleton.
    by_char: dict[int, dict[int, str]] = {}
    for index, mark in marks.items():
        by_char.setdefault(index if origin is None else origin[index], {})[index] = mark
    out: list[str] = []
    position = 0
    for char_index in sorted(by_char):
        out.append(text[position:char_index])
        first = char_index if origin is None else bisect.bisect_left(origin, char_index)
        own = _SKELETON[ord(text[char_index])]
        out.extend(by_char[char_index].get(first + n, piece) for n, piece in enumerate(own))
        position = char_index + 1
    out.append(text[position:])
    return "".join(out)


# --- chat-platform escaping ----------------------------------------------------------------------
# Each escaper cleans its input, defangs its links (above), keeps the neutral model's
# single-backtick inline code where the platform renders it safely and otherwise makes every
# structural character literal. Broadcast words (@everyone, @here, @channel) always get a
# zero-width joiner. Markdown reports use formatters.markdown_text (which defangs as well).

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
    plain_text, Discord footers and labels): not parsed there, but links are defanged (clients
    still link URLs in plain text) and `<` and the broadcast words are broken with a zero-width
    joiner, should a client or a forward ever parse them."""
    return _break_broadcasts(defang(one_line(text)).replace("<", "<" + ZWJ))


# Slack mrkdwn: `& < >` become entities, so `<!channel>`, `<@U123>`, `<#C1>` and `<url|text>`
# show as text (https://docs.slack.dev/messaging/formatting-message-text#escaping); renderers
# also set `verbatim: true`.


def escape_slack(text: str) -> str:
    """Slack mrkdwn: links defanged, `& < >` as entities (the only characters Slack parses as
    control sequences)."""
    text = defang(clean(text)).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
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
    """Discord markdown: links defanged, punctuation backslash-escaped, inline code kept,
    mentions inert."""
    return _with_code_spans(defang(clean(text)), _discord_plain, _discord_code)


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
    """Feishu markdown: links defanged, structural characters as `&#N;` entities, safe inline
    code kept."""
    return _with_code_spans(defang(clean(text)), _feishu_plain, _feishu_code)


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

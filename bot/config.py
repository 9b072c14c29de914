"""Settings from the environment (.env) and the TOML config file: repos, aliases, defaults."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from bot.models import Language

# GitHub's own rules: owner ≤ 39 chars of [A-Za-z0-9-]; repo names [A-Za-z0-9._-] ≤ 100.
REPO_NAME_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")

StructuredMode = Literal["json_schema", "json_object", "prompt"]


class Settings(BaseSettings):
    """Process settings. Secrets come only from here (environment or .env), never from TOML."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    # Sources
    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    github_concurrency: int = Field(default=8, ge=1, le=64)
    github_max_rate_limit_wait: float = Field(default=60.0, ge=0)
    github_timeout: float = Field(default=30.0, gt=0)
    # The secret GitHub signs `push` webhooks with (X-Hub-Signature-256); [alerts] webhook.
    github_webhook_secret: SecretStr | None = None

    # Storage and config
    database_url: str | None = None
    digestbot_data_dir: Path = Path.home() / ".local" / "share" / "digestbot"
    digestbot_config: Path | None = None

    # Defaults when the config file says nothing
    digestbot_tz: str | None = None
    digestbot_lang: Language | None = None
    # Cost caps of chat commands; when set they override the config file's [on_demand] table.
    digestbot_chat_max_commits: int | None = Field(default=None, ge=0)
    digestbot_chat_max_llm_calls: int | None = Field(default=None, ge=0)
    digestbot_chat_github_requests_per_hour: int | None = Field(default=None, ge=0)

    # LLM (any OpenAI-compatible endpoint)
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_structured_mode: StructuredMode = "json_schema"
    llm_timeout: float = Field(default=60.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    llm_concurrency: int = Field(default=8, ge=1, le=64)
    llm_input_token_budget: int = Field(default=5000, ge=2000)  # exact o200k tokens
    llm_max_output_tokens: int = Field(default=1800, ge=200)
    # Deep reads (high commits, changed public surface) and map-reduce of very large ones.
    llm_deep_input_token_budget: int = Field(default=16000, ge=2000)
    llm_deep_max_output_tokens: int = Field(default=3000, ge=200)
    llm_map_max_calls: int = Field(default=4, ge=0, le=16)  # 0 or 1: no map-reduce
    # Input tokens one digest may spend in all (0: no ceiling); see bot/analysis/depth.py.
    llm_digest_token_ceiling: int = Field(default=1_500_000, ge=0)
    llm_triage: Literal["heuristic", "short", "off"] = "short"

    # Web pages of the digests (docs/pages.md): the address people reach `serve` at, and the
    # secret that signs the links of repositories whose pages are not open.
    digestbot_public_url: str | None = None
    digestbot_pages_secret: SecretStr | None = None

    # Serving
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    log_level: str = "INFO"
    log_format: Literal["plain", "json"] = "plain"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.digestbot_data_dir / 'digestbot.db'}"

    @property
    def llm_enabled(self) -> bool:
        return self.openai_api_key is not None and bool(self.openai_api_key.get_secret_value())

    @property
    def github_fetch_concurrency(self) -> int:
        """GitHub requests in flight at once: GITHUB_CONCURRENCY, raised to LLM_CONCURRENCY when
        the model reads the commits, so fetching details never starves the model's slots."""
        if self.llm_enabled:
            return max(self.github_concurrency, self.llm_concurrency)
        return self.github_concurrency

    @property
    def pipeline_depth(self) -> int:
        """Commits in a digest's pipeline at once (details asked, analysis not done): the
        model's slots plus the commits being fetched and prepared to refill them (a commit
        spends about a second with the model and a fraction of one being fetched), and no
        more: commits further ahead would only queue their CPU work in front of the next
        prompt's (docs/pipeline.md)."""
        fetch = self.github_fetch_concurrency
        if not self.llm_enabled:
            return fetch
        return self.llm_concurrency + max(4, fetch // 2)


def secret_values(*models: BaseModel) -> list[str]:
    """Every secret set in these settings models, so the log filter can redact them: each
    SecretStr, and the password inside DATABASE_URL (a plain string setting)."""
    values = []
    for model in models:
        for name in type(model).model_fields:
            value = getattr(model, name)
            if isinstance(value, SecretStr) and value.get_secret_value():
                values.append(value.get_secret_value())
        if isinstance(model, Settings) and model.database_url:
            values += url_passwords(model.database_url)
    return values


def url_passwords(url: str) -> list[str]:
    """The password of a `scheme://user:password@host/…` URL, as written and percent-decoded."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return []
    return list(dict.fromkeys([password, unquote(password)])) if password else []


class PathRolesConfig(BaseModel):
    """`[repos.paths]`: globs that tune how the analysis reads this repository's paths.

    `core` marks product code the default path rules would call tests/docs/auxiliary;
    `kernels` adds kernel paths; `public_api` replaces the default guess of what callers
    import (so removals and signature changes there count as breaking).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    core: tuple[str, ...] = ()
    kernels: tuple[str, ...] = ()
    public_api: tuple[str, ...] = ()


class RepoConfig(BaseModel):
    """One `[[repos]]` entry of the TOML file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str  # owner/name on GitHub, or a label for a local checkout
    aliases: tuple[str, ...] = ()
    branch: str | None = None
    path: Path | None = None  # a local git checkout: no network, no token
    components: dict[str, str] = Field(default_factory=dict)  # glob -> component name
    paths: PathRolesConfig = Field(default_factory=PathRolesConfig)
    exclude_authors: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    # Its digests' web pages: "signed" (links that expire; the default) or "open" (a public
    # repository whose reports anyone with the address may read).
    pages: Literal["signed", "open"] = "signed"

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("repo name must not be empty")
        return value.strip()


class DefaultsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "UTC"
    language: Language = "en"
    # Authors whose commits never appear (bots); matched case-insensitively, `*` globs allowed.
    exclude_authors: tuple[str, ...] = ("dependabot[bot]", "github-actions[bot]", "*[bot]")
    exclude_merges: bool = True
    exclude_paths: tuple[str, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _valid_tz(cls, value: str) -> str:
        validate_timezone(value)
        return value


class AccessConfig(BaseModel):
    """Who may digest what; filled in further by the chat issues."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Repos that may be digested from chat; empty = the configured repos only.
    allowed_repos: tuple[str, ...] = ()
    allow_any_public_repo: bool = False
    admins: tuple[str, ...] = ()  # "platform:user_id"
    digests_per_user_per_hour: int = 20
    digests_per_channel_per_hour: int = 40
    questions_per_user_per_hour: int = 30
    questions_per_channel_per_hour: int = 60


class OnDemandConfig(BaseModel):
    """`[on_demand]`: what one chat command may cost (admins, the CLI and the console chat are
    not capped; scheduled posts are neither capped nor counted). 0 means no limit."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Commits one digest may read; a wider window is refused with a hint to narrow it.
    max_commits: int = Field(default=150, ge=0)
    # LLM calls one digest may make (analyses, retries, the overview); commits past it are
    # analysed by the rules, and the digest says so.
    max_llm_calls: int = Field(default=100, ge=0)
    # GitHub requests chat commands may spend per repository per hour (a sliding hour).
    github_requests_per_repo_per_hour: int = Field(default=600, ge=0)


WEEKDAY_NAMES: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class SubscriptionConfig(BaseModel):
    """One `[[subscriptions]]` entry: a daily post of a repo's digest into a channel."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    repo: str  # a configured name or alias, or owner/name
    platform: str  # slack | feishu | discord
    channel: str  # the platform's channel / chat id
    at: str = "09:00"  # local wall time, HH:MM
    timezone: str | None = None  # None: [defaults] timezone
    days: tuple[str, ...] = WEEKDAY_NAMES
    language: Language | None = None  # None: [defaults] language
    min_importance: Literal["high", "medium", "low"] = "low"
    exclude_authors: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    # Alerts as commits land, for those at or above this level ([alerts] says how often).
    alerts: Literal["off", "high", "medium"] = "off"
    # "weekly": one post a week (on `days`, default Monday) covering the week, with its chart.
    cadence: Literal["daily", "weekly"] = "daily"

    @field_validator("repo", "platform", "channel")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value.strip()

    @field_validator("at")
    @classmethod
    def _valid_time(cls, value: str) -> str:
        if not _HHMM_RE.match(value.strip()):
            raise ValueError("use HH:MM, like 09:00")
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _valid_tz(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                validate_timezone(value)
            except ConfigError as exc:
                raise ValueError(exc.user_message) from exc
        return value

    @field_validator("days")
    @classmethod
    def _valid_days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        days = {d.strip().lower()[:3] for d in value}
        if not days or not days <= set(WEEKDAY_NAMES):
            raise ValueError("use day names: mon, tue, wed, thu, fri, sat, sun")
        return tuple(d for d in WEEKDAY_NAMES if d in days)


class SchedulerConfig(BaseModel):
    """`[scheduler]`: how daily posts are caught up and retried."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # A post missed (the bot was down) is still made this long after its time; older
    # misses get one short notice in the channel instead.
    catchup_hours: float = Field(default=24.0, gt=0, le=24 * 14)
    retry_hours: float = Field(default=12.0, gt=0, le=48)  # retries with backoff, then failed
    lease_seconds: float = Field(default=600.0, ge=5)  # a replica's claim on one delivery
    tick_seconds: float = Field(default=60.0, ge=1)  # retries, takeovers, other replicas' edits


class AlertsConfig(BaseModel):
    """`[alerts]`: how subscriptions with `alerts = "high"` (or "medium") learn of new commits
    and how often a channel may be alerted (docs/alerts.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # One conditional request per followed branch this often (a 304 costs no rate limit);
    # 0 turns polling off (webhook only: then a missed push waits for the daily digest).
    poll_minutes: float = Field(default=5.0, ge=0, le=24 * 60)
    # `serve` accepts GitHub `push` webhooks at this path (GITHUB_WEBHOOK_SECRET required).
    webhook: bool = False
    webhook_path: str = "/github/webhook"
    # "22:00-08:00": no alert is posted then, in each subscription's time zone; what is held
    # back is counted on the next card and is in the daily digest. "" for none.
    quiet_hours: str = ""
    max_per_channel_per_hour: int = Field(default=6, ge=0)  # cards; 0: no cap
    fold_at: int = Field(default=3, ge=2)  # this many commits from one push: one card
    # An alert not posted this long after its commit was found is dropped (the digest has it).
    max_delay_minutes: float = Field(default=120.0, gt=0)

    @field_validator("quiet_hours")
    @classmethod
    def _valid_quiet(cls, value: str) -> str:
        value = value.strip()
        if value:
            parts = value.split("-")
            if len(parts) != 2 or not all(_HHMM_RE.match(p.strip()) for p in parts):
                raise ValueError('use "HH:MM-HH:MM", like "22:00-08:00"')
        return value

    @field_validator("webhook_path")
    @classmethod
    def _valid_path(cls, value: str) -> str:
        if not value.startswith("/") or " " in value:
            raise ValueError('an absolute URL path, like "/github/webhook"')
        return value


class PagesConfig(BaseModel):
    """`[pages]`: the digests' web pages served by `serve` (DIGESTBOT_PUBLIC_URL turns them on)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    link_days: float = Field(default=30.0, gt=0, le=366)  # how long a signed link opens its page
    index_digests: int = Field(default=60, ge=1, le=1000)  # digests an index lists


class AppConfig(BaseModel):
    """The whole TOML file: defaults, repos, access rules, subscriptions."""

    model_config = ConfigDict(extra="allow", frozen=True)

    defaults: DefaultsConfig = Field(default_factory=DefaultsConfig)
    repos: tuple[RepoConfig, ...] = ()
    access: AccessConfig = Field(default_factory=AccessConfig)
    on_demand: OnDemandConfig = Field(default_factory=OnDemandConfig)
    subscriptions: tuple[SubscriptionConfig, ...] = ()
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    pages: PagesConfig = Field(default_factory=PagesConfig)


def validate_timezone(name: str) -> ZoneInfo:
    """Return the IANA zone, or raise ConfigError with a short message."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"Unknown time zone '{name}' (use an IANA name like Asia/Shanghai)."
        ) from exc


def load_app_config(path: Path | None) -> AppConfig:
    """Read the TOML file; a missing default path means an empty config, a named one must exist."""
    if path is None:
        return AppConfig()
    if not path.is_file():
        raise ConfigError(f"Config file not found: {path}")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"Cannot read config file {path}: {exc}") from exc
    try:
        config = AppConfig.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"Invalid config file {path}: {where}: {first['msg']}") from exc
    base = path.parent
    repos = tuple(
        r.model_copy(update={"path": (base / r.path).resolve()})
        if r.path and not r.path.is_absolute()
        else r
        for r in config.repos
    )
    return config.model_copy(update={"repos": repos})


def on_demand_caps(settings: Settings, config: AppConfig) -> OnDemandConfig:
    """The `[on_demand]` table with the DIGESTBOT_CHAT_* environment overrides applied."""
    table = config.on_demand
    overrides = {
        "max_commits": settings.digestbot_chat_max_commits,
        "max_llm_calls": settings.digestbot_chat_max_llm_calls,
        "github_requests_per_repo_per_hour": settings.digestbot_chat_github_requests_per_hour,
    }
    return table.model_copy(update={k: v for k, v in overrides.items() if v is not None})

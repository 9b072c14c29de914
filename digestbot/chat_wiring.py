"""The chat floor's wiring (`serve` and `digestbot chat`): the conversation layer, the scheduler,
every configured platform and the HTTP endpoints, each built once over the core."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta

from bot.alerts.planner import AlertPlanner
from bot.alerts.policy import AlertPolicy
from bot.alerts.service import AlertService
from bot.alerts.watcher import AlertWatcher
from bot.analysis.answers import QuestionAnswerer
from bot.delivery import DeliveryRunner, DeliverySettings, DigestPlanner, ServiceDigestBuilder
from bot.errors import ConfigError
from bot.models import Language
from bot.report_links import ReportLinks
from bot.scheduler import SchedulerSettings, SubscriptionScheduler, config_specs
from bot.storage.alerts import ALERT_OUTBOX, SqlAlertStore
from bot.storage.conversations import ConversationStore, SqlConversationStore
from bot.storage.deliveries import SqlDeliveryStore
from bot.storage.subscriptions import SqlSubscriptionStore
from digestbot.settings_loading import no_platform_message
from digestbot.wiring import Core
from handlers.conversation.authz import Authorizer
from handlers.conversation.conversation import Conversation, ConversationSettings
from handlers.conversation.rate_limits import RateLimiter, RatePolicy
from handlers.conversation.subscriptions import ChatSubscriptions, SubscriptionCommands
from handlers.platform import PlatformContext, PlatformService, PlatformSettings, Service
from handlers.ports import ChatAdapter
from handlers.registry import PLATFORMS
from handlers.runtime.github_webhook import webhook_endpoint
from handlers.runtime.health import HEALTH_PATH, HealthCheck, platform_connected, store_reachable
from handlers.runtime.http import METRICS_PATH, HttpServer, metrics_endpoint
from handlers.runtime.report_pages import ReportPages
from handlers.runtime.scheduled_posts import ChatPoster

MIN_PAGES_SECRET = 20  # characters of DIGESTBOT_PAGES_SECRET


def build_answerer(core: Core) -> QuestionAnswerer | None:
    """The thread-question answerer over the core's LLM client; None without a key."""
    if core.llm_client is None:
        return None
    from bot.analysis.llm_factory import build_answerer as answerer_over

    return answerer_over(core.settings, core.llm_client)


def build_conversation(
    core: Core,
    *,
    authorizer: Authorizer,
    conversations: ConversationStore,
    answerer: QuestionAnswerer | None,
    subscriptions: SubscriptionCommands | None = None,
    links: ReportLinks | None = None,
) -> Conversation:
    """The conversation layer over the core's service and store, with the given ports."""
    language = core.default_language()
    return Conversation(
        service=core.service,
        digests=core.store,
        conversations=conversations,
        authorizer=authorizer,
        limiter=RateLimiter(core.clock),
        policy=RatePolicy(core.config.access),
        clock=core.clock,
        commit_filter=core.commit_filter,
        settings=ConversationSettings(
            default_timezone=core.default_timezone(),
            default_language="zh" if language == "zh" else "en",
        ),
        answerer=answerer,
        subscriptions=subscriptions,
        metrics=core.metrics,
        caps=core.command_caps(),
        links=links,
    )


def build_console_conversation(core: Core) -> Conversation:
    """`digestbot chat`: the person at the terminal runs the bot and may name local paths."""
    return build_conversation(
        core,
        authorizer=Authorizer(core.resolver, core.config.access, local_operator=True),
        conversations=SqlConversationStore(core.store.engine),
        answerer=build_answerer(core),
    )


@dataclass
class Scheduling:
    """The scheduling feature wired for `serve`: a Service, the chat commands, the poster."""

    scheduler: SubscriptionScheduler
    commands: ChatSubscriptions
    poster: ChatPoster
    subscriptions: SqlSubscriptionStore
    deliveries: SqlDeliveryStore
    alerts: AlertService


def build_scheduling(
    core: Core,
    adapters: Mapping[str, ChatAdapter],
    *,
    authorizer: Authorizer,
    conversations: ConversationStore,
    links: ReportLinks | None = None,
) -> Scheduling:
    """Stores, runner, scheduler and the chat commands over the core's database. `adapters` is
    read when a post is due: `serve` fills it with each platform it connects before starting.
    ConfigError for a bad `[[subscriptions]]` entry."""
    engine = core.store.engine
    subscriptions = SqlSubscriptionStore(engine)
    deliveries = SqlDeliveryStore(engine, core.clock)
    alert_store = SqlAlertStore(engine, deliveries.now)
    poster = ChatPoster(
        adapters,
        digests=core.store,
        conversations=conversations,
        clock=core.clock,
        metrics=core.metrics,
        links=links,
    )
    runner = DeliveryRunner(
        subscriptions=subscriptions,
        deliveries=deliveries,
        planner=DigestPlanner(
            ServiceDigestBuilder(
                core.service, core.resolver, core.commit_filter, marks=alert_store
            ),
            poster,
        ),
        poster=poster,
        settings=DeliverySettings.from_config(core.config.scheduler),
        observer=core.metrics,
    )
    language: Language = "zh" if core.default_language() == "zh" else "en"
    specs = config_specs(
        core.config,
        core.resolver,
        default_timezone=core.default_timezone(),
        default_language=language,
    )
    scheduler = SubscriptionScheduler(
        runner=runner,
        clock=core.clock,
        # SQLite is one process by design; PostgreSQL allows replicas (README "Daily posts").
        settings=SchedulerSettings.from_config(
            core.config.scheduler, single_process=engine.dialect.name == "sqlite"
        ),
        config_subscriptions=specs,
    )
    commands = ChatSubscriptions(
        store=subscriptions,
        authorizer=authorizer,
        clock=core.clock,
        default_timezone=core.default_timezone(),
        default_language=language,
        schedule=scheduler,
    )
    alerts = build_alerts(core, subscriptions, alert_store, poster, runner.worker_id)
    return Scheduling(scheduler, commands, poster, subscriptions, deliveries, alerts)


def build_alerts(
    core: Core,
    subscriptions: SqlSubscriptionStore,
    store: SqlAlertStore,
    poster: ChatPoster,
    worker_id: str,
) -> AlertService:
    """The alert service: its own outbox (the alert tables) under a runner like the daily
    posts' one, whose rows expire after `[alerts] max_delay_minutes` instead of the catch-up
    window."""
    policy = AlertPolicy.from_config(core.config.alerts)
    daily = DeliverySettings.from_config(core.config.scheduler)
    runner = DeliveryRunner(
        subscriptions=subscriptions,
        deliveries=SqlDeliveryStore(core.store.engine, core.clock, ALERT_OUTBOX),
        planner=AlertPlanner(
            alerts=store,
            service=core.service,
            resolver=core.resolver,
            base_filter=core.commit_filter,
            poster=poster,
        ),
        poster=poster,
        settings=replace(daily, catchup_window=policy.max_delay, retry_for=policy.max_delay),
        worker_id=worker_id,
        observer=core.metrics,
    )
    watcher = AlertWatcher(
        service=core.service,
        resolver=core.resolver,
        base_filter=core.commit_filter,
        subscriptions=subscriptions,
        alerts=store,
        runner=runner,
        policy=policy,
        now=runner.deliveries.now,
    )
    return AlertService(watcher, single_process=core.store.engine.dialect.name == "sqlite")


@dataclass
class Runtime:
    """Everything `serve` runs, wired: the platforms that are configured, then the scheduler."""

    conversation: Conversation
    http: HttpServer
    services: list[Service]
    adapters: dict[str, ChatAdapter]
    scheduling: Scheduling


def build_report_links(core: Core) -> ReportLinks | None:
    """The digests' web pages' links when DIGESTBOT_PUBLIC_URL is set (ConfigError without
    DIGESTBOT_PAGES_SECRET, or with an address that is not http(s))."""
    settings = core.settings
    base = (settings.digestbot_public_url or "").strip()
    if not base:
        return None
    if not base.startswith(("https://", "http://")):
        raise ConfigError(
            "DIGESTBOT_PUBLIC_URL must be an http(s) address, like https://bot.example.com"
        )
    secret = settings.digestbot_pages_secret
    if secret is None or len(secret.get_secret_value()) < MIN_PAGES_SECRET:
        raise ConfigError(
            f"DIGESTBOT_PUBLIC_URL is set: DIGESTBOT_PAGES_SECRET must be set too, "
            f"at least {MIN_PAGES_SECRET} random characters (it signs the pages' links)."
        )
    return ReportLinks(
        base_url=base,
        secret=secret.get_secret_value().encode(),
        policies={repo.name: repo.pages for repo in core.config.repos},
        lifetime=timedelta(days=core.config.pages.link_days),
        clock=core.clock,
    )


def build_runtime(core: Core, platform_settings: Mapping[str, PlatformSettings]) -> Runtime:
    """Build every configured platform, the scheduler and the HTTP endpoints, each dependency
    once; ConfigError when a platform is half configured or none is configured at all."""
    conversations = SqlConversationStore(core.store.engine)
    authorizer = Authorizer(core.resolver, core.config.access)
    adapters: dict[str, ChatAdapter] = {}
    links = build_report_links(core)
    scheduling = build_scheduling(
        core, adapters, authorizer=authorizer, conversations=conversations, links=links
    )
    conversation = build_conversation(
        core,
        authorizer=authorizer,
        conversations=conversations,
        answerer=build_answerer(core),
        subscriptions=scheduling.commands,
        links=links,
    )
    http = HttpServer(core.settings.http_host, core.settings.http_port)
    http.add_route("GET", METRICS_PATH, metrics_endpoint(core.metrics))
    if links is not None:
        ReportPages(
            store=core.store,
            links=links,
            resolver=core.resolver,
            language="zh" if core.default_language() == "zh" else "en",
            index_digests=core.config.pages.index_digests,
        ).add_routes(http)
    context = PlatformContext(
        conversation=conversation,
        clock=core.clock,
        routes=http,
        repo_names=core.resolver.names,
        language=core.explicit_language(),
    )
    services: list[Service] = []
    platforms: dict[str, PlatformService] = {}
    for platform in PLATFORMS:
        service = platform.build(platform_settings[platform.name], context)
        if service is not None:
            adapters[platform.name] = service.adapter
            platforms[platform.name] = service
            services.append(service)
    if not services:
        raise ConfigError(no_platform_message())
    scheduler, alerts = scheduling.scheduler, scheduling.alerts
    health = HealthCheck(
        {
            "scheduler": lambda: scheduler.running,
            "store": store_reachable(scheduling.subscriptions.ping),
            "alert_polls": alerts.polls_fresh,
            **{name: platform_connected(service) for name, service in platforms.items()},
        },
        details={"last_poll": alerts.last_polls},
    )
    http.add_route("GET", HEALTH_PATH, health.handle)
    policy = alerts.watcher.policy
    if policy.webhook:
        secret = core.settings.github_webhook_secret
        if secret is None or not secret.get_secret_value():
            raise ConfigError(
                "[alerts] webhook = true needs GITHUB_WEBHOOK_SECRET (the webhook's secret)."
            )
        endpoint = webhook_endpoint(alerts, secret.get_secret_value().encode())
        http.add_route("POST", policy.webhook_path, endpoint)
    services += [scheduler, alerts]
    return Runtime(conversation, http, services, adapters, scheduling)

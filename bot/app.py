"""The composition root: settings → Application, database, domain, Rasa client, classifier, workers.

``python -m bot`` reads the settings once, builds the Application, and runs the stack until SIGINT/SIGTERM:

- ``post_init`` creates the dependencies (nothing connects at import time) and the workers;
- ingest (polling or webhook) writes updates to the inbox; the inbox worker runs them through the handlers;
  the outbox sender delivers what they queued; the photo fetcher downloads the photos residents sent;
  the supervision clock runs on the job queue;
- at stop, intake stops first, the updates in flight finish, open forward bursts are filed, the outbox is
  drained, and ``post_shutdown`` closes everything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from dataclasses import dataclass

from telegram.ext import Application, ApplicationBuilder
from telegram.request import BaseRequest, HTTPXRequest

from bot import handlers, supervision
from bot.config import BotConfig
from bot.deps import Deps
from bot.forwarding import ForwardCoalescer
from bot.ingest import PollingIngest, WebhookIngest
from bot.intake import GroupIntake
from bot.journal import SendJournal, SharedJournal
from bot.photos import PhotoFetcher
from bot.rasa import RasaClient, RasaParseClassifier
from bot.redislink import RedisLink
from bot.sender import OutboxSender
from bot.worker import InboxWorker
from tickets import queues
from tickets.classification import Classifier, ClassifierUnavailable, PipelineClassifier
from tickets.db import Database
from tickets.domain import Domain
from tickets.errors import StoreUnavailable
from tickets.settings import Settings

log = logging.getLogger("bot")

BotApp = Application


def build_application(
    settings: Settings,
    config: BotConfig,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
) -> BotApp:
    """The PTB Application with our handlers; Telegram's HTTP layer can be replaced (tests, make chat).

    No persistence: the dialogues' state is in the database, shared by every worker (``bot.state``)."""
    builder = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.file_base_url)
        .updater(None)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    else:
        builder = builder.request(HTTPXRequest(connection_pool_size=64)).get_updates_request(
            HTTPXRequest(read_timeout=config.poll_timeout + 10)
        )
    app = builder.build()
    handlers.register(app)
    return app


@dataclass
class Stack:
    """The running parts around the Application."""

    app: BotApp
    deps: Deps
    worker: InboxWorker
    intake: GroupIntake
    forwards: ForwardCoalescer
    sender: OutboxSender
    ingest: PollingIngest | WebhookIngest
    photos: PhotoFetcher


async def make_classifier(settings: Settings, rasa: RasaClient) -> Classifier:
    """The configured group classifier; the in-process pipeline falls back to Rasa when unavailable."""
    if settings.group_classifier == "pipeline":
        pipeline = PipelineClassifier(settings.nlu_model_dir, registry=settings.model_registry)
        try:
            await pipeline.start()
            return pipeline
        except ClassifierUnavailable as e:
            log.warning("%s — group messages are classified through Rasa's /model/parse", e)
    fallback = RasaParseClassifier(rasa)
    await fallback.start()
    return fallback


async def post_init(
    app: BotApp,
    settings: Settings,
    config: BotConfig,
    *,
    db: Database | None = None,
    domain: Domain | None = None,
    rasa: RasaClient | None = None,
    classifier: Classifier | None = None,
) -> Stack:
    """Build the dependencies and the workers (every argument after ``config`` is an injected fake)."""
    db = db or Database(settings.database_url)
    domain = domain or Domain.load(settings)
    rasa = rasa or RasaClient(settings.rasa_url, timeout=settings.rasa_timeout)
    classifier = classifier or await make_classifier(settings, rasa)
    journal = SendJournal(config.send_journal) if config.send_journal is not None else None
    redis = RedisLink(config.redis_url) if config.redis_url else None
    deps = Deps(
        settings=settings,
        config=config,
        db=db,
        domain=domain,
        rasa=rasa,
        classifier=classifier,
        journal=journal,
        redis=redis,
        shared_journal=SharedJournal(redis) if redis is not None else None,
    )
    try:
        if deps.journal is not None:  # deliveries a killed predecessor had not recorded yet
            recovered = await deps.plumbing(
                queues.replay_sent, deps.journal.entries(), deps.journal.polls()
            )
            deps.journal.clear()
            if recovered:
                log.info("recorded %d deliveries from the send journal", recovered)
        if config.release_claims_on_start:  # this worker's own, never its peers'
            released = await deps.plumbing(queues.release_own_claims, deps.owner)
            if any(released):
                log.info(
                    "took back %d inbox and %d outbox rows %s held when it stopped",
                    *released,
                    deps.owner,
                )
        await deps.refresh_bindings()
    except StoreUnavailable as e:  # start anyway: updates stay with Telegram until it is back
        log.warning("database unavailable at start: %s", e)
    if deps.journal is not None:
        deps.journal.open()
    worker = InboxWorker(app, deps)
    intake = GroupIntake(deps)
    forwards = ForwardCoalescer(deps, worker)
    app.bot_data.update(deps=deps, worker=worker, intake=intake, forwards=forwards)
    if config.supervision_seconds > 0:
        supervision.schedule(app, config.supervision_seconds)
    sender = OutboxSender(app.bot, deps)
    ingest_cls = WebhookIngest if config.mode == "webhook" else PollingIngest
    ingest: PollingIngest | WebhookIngest = ingest_cls(app.bot, deps, worker)
    log.info(
        "bot @%s ready: %s, group classifier %s, database %s",
        app.bot.username,
        config.mode,
        classifier.name,
        db.engine.url.render_as_string(hide_password=True),
    )
    return Stack(app, deps, worker, intake, forwards, sender, ingest, PhotoFetcher(app.bot, deps))


async def post_shutdown(stack: Stack) -> None:
    await stack.deps.close()


async def heartbeat(stack: Stack, done: asyncio.Event) -> None:
    """Renew the leases of what this worker is working on, every third of the lease, until ``done``
    (after the last drain)."""
    deps = stack.deps
    interval = max(0.05, deps.config.lease_seconds / 3)
    while not done.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), interval)
        try:
            await deps.plumbing(
                queues.renew_leases,
                owner=deps.owner,
                inbox_rows=stack.worker.held(),
                outbox_rows=stack.sender.held(),
                bursts=stack.forwards.held(),
                lease=deps.lease,
            )
        except StoreUnavailable as e:  # the leases may run out: peers then take the rows over
            log.warning("heartbeat: could not renew the leases of %s: %s", deps.owner, e)


async def run(stack: Stack, stopping: asyncio.Event) -> None:
    """Run ingest, worker and sender until ``stopping``; then stop in order, losing nothing."""
    stopped = asyncio.Event()
    beating = asyncio.create_task(heartbeat(stack, stopped), name="heartbeat")
    try:
        await _run(stack, stopping)
    finally:
        stopped.set()
        await asyncio.gather(beating, return_exceptions=True)


async def _run(stack: Stack, stopping: asyncio.Event) -> None:
    tasks = [
        asyncio.create_task(stack.ingest.run(stopping), name="ingest"),
        asyncio.create_task(stack.worker.run(stopping), name="inbox"),
        asyncio.create_task(stack.sender.run(stopping), name="outbox"),
        asyncio.create_task(stack.forwards.run(stopping), name="forwards"),
    ]
    if stack.deps.config.photo_poll_seconds > 0:
        tasks.append(asyncio.create_task(stack.photos.run(stopping), name="photos"))
    await stopping.wait()
    await asyncio.gather(*tasks[:2], return_exceptions=True)
    await stack.worker.drain()
    await asyncio.gather(tasks[3], return_exceptions=True)
    await stack.forwards.close()
    await stack.intake.close()
    await stack.worker.drain()
    await asyncio.gather(tasks[2], *tasks[4:], return_exceptions=True)
    await stack.sender.drain()


async def serve(settings: Settings, config: BotConfig, stopping: asyncio.Event) -> None:
    app = build_application(settings, config)
    await app.initialize()
    stack = await post_init(app, settings, config)
    await app.start()
    try:
        await run(stack, stopping)
    finally:
        await app.stop()
        await app.shutdown()
        await post_shutdown(stack)


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("httpx", "httpcore", "telegram.ext.Application", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main() -> int:
    configure_logging()
    settings = Settings.from_env()
    config = BotConfig.from_env()
    if not settings.telegram_bot_token:
        log.error(
            "TELEGRAM_BOT_TOKEN is not set (try `make chat` to talk to the bot in a terminal)"
        )
        return 2

    async def serve_until_signalled() -> None:
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stopping.set)
        await serve(settings, config, stopping)

    asyncio.run(serve_until_signalled())
    return 0

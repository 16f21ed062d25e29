"""Bot settings, read once at start-up (environment over the ``.env`` file), next to ``tickets.Settings``."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from tickets.settings import ROOT, VAR_DIR, read_env_file


def _env(environ: dict[str, str] | None, env_file: Path | None) -> dict[str, str]:
    env = read_env_file(env_file if env_file is not None else ROOT / ".env")
    env.update(os.environ if environ is None else environ)
    return {k: v for k, v in env.items() if v != ""}


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class BotConfig:
    """How the bot receives updates, how hard it works and how group messages are judged.

    Every field has an environment variable (``BOT_`` + the field name in upper case, except where noted).
    """

    #: ``polling`` (default) or ``webhook``.
    mode: str = "polling"
    #: Webhook mode: the public HTTPS URL Telegram posts to, where the bot listens, and the secret token.
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str = ""
    #: Long-polling timeout of getUpdates, in seconds.
    poll_timeout: int = 25
    #: How often the outbox sender looks for rows queued by other processes (the action server).
    outbox_poll_seconds: float = 0.5
    #: How often the inbox worker looks for rows to retry.
    inbox_poll_seconds: float = 1.0
    #: Inbox rows claimed per round and updates processed at the same time.
    inbox_batch: int = 200
    #: Claims of the inbox at least this many seconds apart: a worker woken by every stored update
    #: would otherwise claim one or two rows a transaction under load (claims were 3x the CPU a
    #: message with two workers than with one); a burst is taken in one claim instead.
    inbox_claim_interval: float = 0.02
    concurrency: int = 256
    #: Micro-batching of group messages for classification and filing.
    group_batch_size: int = 128
    group_batch_wait: float = 0.02
    #: Forwards from one grid member arriving within this many seconds of each other form one burst.
    forward_burst_seconds: float = 3.0
    #: This worker's name on its inbox/outbox claims (``BOT_WORKER_ID``). It must be stable across
    #: restarts and different for each bot process sharing a database: at start a worker takes back
    #: the claims it held under this name when it died; other workers' claims expire by lease.
    worker_id: str = field(default_factory=socket.gethostname)
    #: How long a claim holds without a heartbeat (heartbeats come every third of it).
    lease_seconds: float = 30.0
    #: Take back this worker's own claims at start (rather than wait for their leases to run out).
    release_claims_on_start: bool = True
    #: Telegram's limits: about 30 messages a second overall and 20 a minute in any one group.
    messages_per_second: float = 30.0
    group_messages_per_minute: float = 20.0
    #: Count them for every bot process (``bot.limits``): None (``auto``, the default) shares them
    #: through Redis when ``redis_url`` is set, else on PostgreSQL, and keeps them in the process on
    #: SQLite.
    shared_limits: bool | None = None
    #: ``REDIS_URL`` (no ``BOT_`` prefix: the cluster's pieces share it): where shared limits are
    #: counted when set; else in the database.
    redis_url: str = ""
    #: Fold a group chat's ordinary new-ticket cards into a digest when more are waiting than the
    #: group's per-minute limit (``tickets.usecases.backlog``); looked at every this many seconds, 0:
    #: never (every card is sent alone, however long the chat waits).
    backlog_digest_seconds: float = 2.0
    #: The send journal (bot.journal): deliveries written down the instant Telegram answered, so a
    #: bot killed before recording them does not send them again. Empty: no journal.
    send_journal: Path | None = VAR_DIR / "bot-outbox.journal"
    #: How often the supervision clock (warnings, 督办, 回访 …) runs in this process; 0: not here (it
    #: then runs elsewhere, e.g. ``python -m tickets supervise`` from cron).
    supervision_seconds: float = 60.0
    #: How often this process looks for photos to fetch from Telegram (``bot.photos``); 0: not here.
    photo_poll_seconds: float = 2.0

    @classmethod
    def from_env(
        cls, environ: dict[str, str] | None = None, env_file: Path | None = None
    ) -> BotConfig:
        env = _env(environ, env_file)
        d = cls()

        def get(name: str, default: str) -> str:
            return env.get(name, default)

        mode = get("BOT_MODE", d.mode).lower()
        if mode not in ("polling", "webhook"):
            raise ValueError(f"BOT_MODE must be polling or webhook, not {mode!r}")
        return cls(
            mode=mode,
            webhook_url=get("BOT_WEBHOOK_URL", d.webhook_url),
            webhook_listen=get("BOT_WEBHOOK_LISTEN", d.webhook_listen),
            webhook_port=int(get("BOT_WEBHOOK_PORT", str(d.webhook_port))),
            webhook_secret=get("BOT_WEBHOOK_SECRET", d.webhook_secret),
            poll_timeout=int(get("BOT_POLL_TIMEOUT", str(d.poll_timeout))),
            outbox_poll_seconds=float(get("BOT_OUTBOX_POLL_SECONDS", str(d.outbox_poll_seconds))),
            inbox_poll_seconds=float(get("BOT_INBOX_POLL_SECONDS", str(d.inbox_poll_seconds))),
            inbox_batch=int(get("BOT_INBOX_BATCH", str(d.inbox_batch))),
            inbox_claim_interval=float(
                get("BOT_INBOX_CLAIM_INTERVAL", str(d.inbox_claim_interval))
            ),
            concurrency=int(get("BOT_CONCURRENCY", str(d.concurrency))),
            group_batch_size=int(get("BOT_GROUP_BATCH_SIZE", str(d.group_batch_size))),
            group_batch_wait=float(get("BOT_GROUP_BATCH_WAIT", str(d.group_batch_wait))),
            forward_burst_seconds=float(
                get("BOT_FORWARD_BURST_SECONDS", str(d.forward_burst_seconds))
            ),
            worker_id=get("BOT_WORKER_ID", d.worker_id),
            lease_seconds=float(get("BOT_LEASE_SECONDS", str(d.lease_seconds))),
            release_claims_on_start=_bool(
                get("BOT_RELEASE_CLAIMS_ON_START", str(d.release_claims_on_start))
            ),
            messages_per_second=float(get("BOT_MESSAGES_PER_SECOND", str(d.messages_per_second))),
            group_messages_per_minute=float(
                get("BOT_GROUP_MESSAGES_PER_MINUTE", str(d.group_messages_per_minute))
            ),
            shared_limits=(
                None
                if get("BOT_SHARED_LIMITS", "auto").lower() == "auto"
                else _bool(get("BOT_SHARED_LIMITS", "auto"))
            ),
            redis_url=get("REDIS_URL", d.redis_url),
            backlog_digest_seconds=float(
                get("BOT_BACKLOG_DIGEST_SECONDS", str(d.backlog_digest_seconds))
            ),
            send_journal=(
                Path(get("BOT_SEND_JOURNAL", str(d.send_journal)))
                if get("BOT_SEND_JOURNAL", str(d.send_journal))
                else None
            ),
            supervision_seconds=float(get("BOT_SUPERVISION_SECONDS", str(d.supervision_seconds))),
            photo_poll_seconds=float(get("BOT_PHOTO_POLL_SECONDS", str(d.photo_poll_seconds))),
        )

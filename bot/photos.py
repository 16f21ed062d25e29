"""The photo fetcher: downloads the photos residents sent from Telegram and hands them to the core.

A photo is recorded as a ``photos`` row with its file id when it reaches a ticket (``tickets.photos``);
this loop claims due rows with a lease, asks Telegram for the file (``getFile``, then the download),
and stores it through ``tickets.usecases.photos.fetched`` (re-encoded without EXIF). A network error or
a busy Telegram reschedules the row with backoff; a file Telegram will never give (unknown id, over its
own 20 MB limit) marks it failed. A bot killed mid-fetch loses nothing: the row's lease runs out and
whichever process runs next fetches it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.deps import Deps
from tickets import photos as store
from tickets.errors import StoreUnavailable
from tickets.usecases import photos

log = logging.getLogger(__name__)


class PhotoFetcher:
    def __init__(self, bot: Bot, deps: Deps, *, batch: int = 5) -> None:
        self.bot = bot
        self.deps = deps
        self.batch = batch
        self.stored = 0

    async def run(self, stopping: asyncio.Event) -> None:
        """Fetch what is due until ``stopping`` (a fetch in progress is finished or left to its lease)."""
        interval = self.deps.config.photo_poll_seconds
        while not stopping.is_set():
            done = await self.run_once()
            if done < self.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), interval)

    async def run_once(self) -> int:
        """Claim due photos and fetch them one by one; returns how many were claimed."""
        try:
            jobs = await self.deps.plumbing(
                store.claim_fetches, owner=self.deps.owner, limit=self.batch
            )
        except StoreUnavailable as e:
            log.warning("photos: database unavailable: %s", e)
            return 0
        for job in jobs:
            await self._fetch(job)
        return len(jobs)

    async def _fetch(self, job: store.FetchJob) -> None:
        try:
            file = await self.bot.get_file(job.file_id)
            if file.file_size is not None and file.file_size > self.deps.settings.photo_max_bytes:
                # Not downloaded: refused by the size Telegram gave, and the resident told.
                result = await self.deps.write(
                    photos.refuse_fetched,
                    self.deps.domain,
                    photo_id=job.photo_id,
                    owner=self.deps.owner,
                    size=file.file_size,
                )
                log.info("photos: photo %s %s", job.photo_id, result.outcome)
                return
            raw = bytes(await file.download_as_bytearray())
        except RetryAfter as e:
            await self._retry(job, f"RetryAfter: {e}")
            return
        except BadRequest as e:
            log.warning("photos: Telegram will not give photo %s: %s", job.photo_id, e.message)
            await self._give_up(job, f"BadRequest: {e.message}")
            return
        except (NetworkError, TelegramError) as e:
            log.warning("photos: could not fetch photo %s: %s", job.photo_id, e)
            await self._retry(job, f"{type(e).__name__}: {e}")
            return
        # Decoding and re-encoding takes a few tenths of a second: in a thread, outside the transaction.
        image = await asyncio.to_thread(
            store.checked, raw, max_bytes=self.deps.settings.photo_max_bytes
        )
        try:
            result = await self.deps.write(
                photos.fetched,
                self.deps.domain,
                photo_id=job.photo_id,
                owner=self.deps.owner,
                image=image,
            )
        except StoreUnavailable as e:  # the lease runs out and the photo is fetched again
            log.warning("photos: could not store photo %s: %s", job.photo_id, e)
            return
        if result.outcome == "stored":
            self.stored += 1
        log.info("photos: photo %s %s", job.photo_id, result.outcome)

    async def _retry(self, job: store.FetchJob, error: str) -> None:
        try:
            await self.deps.plumbing(
                store.retry_fetch, job.photo_id, owner=self.deps.owner, error=error
            )
        except StoreUnavailable as e:
            log.warning("photos: could not reschedule photo %s: %s", job.photo_id, e)

    async def _give_up(self, job: store.FetchJob, error: str) -> None:
        try:
            await self.deps.plumbing(
                store.fail_fetch, job.photo_id, owner=self.deps.owner, error=error
            )
        except StoreUnavailable as e:
            log.warning("photos: could not mark photo %s failed: %s", job.photo_id, e)

"""The Rasa server over HTTP: the REST channel for dialogue turns, ``/model/parse`` for classification,
and reading what the dialogue answered. This is the client the console's web channel uses too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import httpx

from bot import keyboards
from bot.errors import RasaUnavailable, ServiceUnavailable
from tickets.classification import Classification, ClassifierUnavailable
from tickets.queues import Outgoing

__all__ = [
    "RasaClient",
    "RasaParseClassifier",
    "RasaUnavailable",
    "ServiceUnavailable",
    "action_server_up",
    "from_parse",
    "to_outgoing",
]

log = logging.getLogger(__name__)


class RasaClient:
    """One pooled HTTP client to the Rasa server; created at start-up and closed at shutdown."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=5.0),
            transport=transport,
            limits=httpx.Limits(max_connections=64, max_keepalive_connections=32),
        )

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        try:
            response = await self._client.post(path, json=body)
        except httpx.HTTPError as e:
            raise RasaUnavailable(f"Rasa 服务器无法连接（{self.base_url}）：{e!r}") from e
        if response.status_code != 200:
            raise RasaUnavailable(f"Rasa 服务器返回 {response.status_code}：{response.text[:200]}")
        try:
            return response.json()
        except ValueError as e:
            raise RasaUnavailable(f"Rasa 服务器返回了无法解析的内容：{response.text[:200]}") from e

    async def send(
        self, *, sender: str, text: str, metadata: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """One dialogue turn through the REST channel; returns the bot's messages."""
        replies = await self._post(
            "/webhooks/rest/webhook", {"sender": sender, "message": text, "metadata": metadata}
        )
        if not isinstance(replies, list):
            raise RasaUnavailable(f"Rasa 的回复格式不对：{str(replies)[:200]}")
        return replies

    async def parse(self, text: str) -> dict[str, Any]:
        """NLU only (``/model/parse``): intent, entities and the ``minwei`` classification."""
        result = await self._post("/model/parse", {"text": text})
        if not isinstance(result, dict):
            raise RasaUnavailable(f"Rasa 的解析结果格式不对：{str(result)[:200]}")
        return result

    async def ready(self) -> bool:
        try:
            response = await self._client.get("/status")
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    async def close(self) -> None:
        await self._client.aclose()


def from_parse(parse: dict[str, Any]) -> Classification:
    """The classification in a ``/model/parse`` result: its ``minwei`` key (a minimal one from the
    intent when a model without our classifier answered)."""
    if isinstance(parse.get("minwei"), dict):
        return Classification.from_dict(parse["minwei"])
    intent = parse.get("intent") or {}
    name = str(intent.get("name") or "")
    confidence = float(intent.get("confidence") or 0.0)
    is_demand = name == "report" or name.startswith("demand_")
    return Classification(
        is_demand=is_demand,
        demand_confidence=confidence if is_demand else 1.0 - confidence,
        category=name.removeprefix("demand_") if name.startswith("demand_") else None,
        category_confidence=confidence if name.startswith("demand_") else 0.0,
        locations=[
            {"text": e.get("value"), "start": e.get("start"), "end": e.get("end")}
            for e in parse.get("entities") or []
            if e.get("entity") == "location"
        ],
        classifier_version="rasa-intent",
    )


class RasaParseClassifier:
    """Group messages classified by ``/model/parse``, one call per text, a bounded number at a time."""

    name = "rasa"

    def __init__(self, rasa: RasaClient, *, parallel: int = 8) -> None:
        self._rasa = rasa
        self._limit = asyncio.Semaphore(parallel)

    async def start(self) -> None:
        return None

    async def classify(self, texts: Sequence[str]) -> list[Classification]:
        async def one(text: str) -> Classification:
            async with self._limit:
                return from_parse(await self._rasa.parse(text))

        try:
            return list(await asyncio.gather(*(one(t) for t in texts)))
        except ServiceUnavailable as e:
            raise ClassifierUnavailable(str(e)) from e

    async def close(self) -> None:
        return None


def to_outgoing(replies: list[dict[str, Any]]) -> tuple[list[Outgoing], bool]:
    """Rasa's messages as outbox messages, and whether an action asked to retry the turn later.

    Custom payloads ``{"minwei": {...}}`` from our actions carry the text, keyboards and ticket codes;
    Rasa's own buttons become inline buttons whose callback data is the payload (``r/affirm``)."""
    out: list[Outgoing] = []
    retry = False
    for reply in replies:
        custom = reply.get("custom")
        minwei = custom.get("minwei") if isinstance(custom, dict) else None
        if isinstance(minwei, dict):
            if minwei.get("retry_later"):
                retry = True
                continue
            if minwei.get("text"):
                out.append(
                    Outgoing(
                        str(minwei["text"]),
                        reply_markup=minwei.get("reply_markup"),
                        ticket_code=minwei.get("ticket_code"),
                        kind=str(minwei.get("kind") or "reply"),
                    )
                )
            continue
        text = reply.get("text")
        if not text:
            continue
        out.append(
            Outgoing(str(text), reply_markup=keyboards.rasa_buttons(reply.get("buttons") or []))
        )
    return out, retry


async def action_server_up(port: int) -> bool:
    """Whether the action server on this machine (``ACTION_SERVER_PORT``) answers its health check."""
    url = f"http://127.0.0.1:{port}/health"
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            return (await client.get(url)).status_code == 200
    except httpx.HTTPError:
        return False

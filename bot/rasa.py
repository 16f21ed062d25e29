"""The Rasa server over HTTP: the REST channel for dialogue turns, ``/model/parse`` for classification."""

from __future__ import annotations

import logging
from typing import Any

import httpx

from bot.errors import RasaUnavailable

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

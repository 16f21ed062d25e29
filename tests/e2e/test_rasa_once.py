"""Each Telegram update is one dialogue turn, however often the bot sends it (nlu/rasa_channel.py).

The bot sends a turn again when its request to Rasa timed out or its worker died after Rasa answered;
the 20,000-update cluster run (benchmarks/bench_cluster.py) found reports filed twice and reports
never filed after such retries, because Rasa's REST channel ran the turn again. Here, against the real
Rasa server and action server: the same update sent twice (one after the other, and at the same time)
is handled once and both requests get the same answers; the next update goes on normally.
"""

from __future__ import annotations

import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack
from tests.support import processes

SENDER_ID = 770555


def _body(text: str, update_id: int, sender: int) -> dict[str, Any]:
    return {
        "sender": f"tg:{sender}",
        "message": text,
        "metadata": {
            "telegram": {
                "chat_id": sender,
                "message_id": update_id - 1000,
                "update_id": update_id,
                "user_id": sender,
                "name": "街坊",
                "username": None,
            }
        },
    }


def _turn(
    stack: Stack, text: str, update_id: int, sender: int = SENDER_ID, *, base: str | None = None
) -> list[dict[str, Any]]:
    base = base or stack.rasa.ready_url.rsplit("/", 1)[0]  # type: ignore[union-attr]
    body = _body(text, update_id, sender)
    reply = httpx.post(f"{base}/webhooks/rest/webhook", json=body, timeout=120)
    assert reply.status_code == 200, reply.text
    answers = reply.json()
    assert isinstance(answers, list)
    return answers


def _user_turns(stack: Stack, sender: int, update_id: int) -> int:
    base = stack.rasa.ready_url.rsplit("/", 1)[0]  # type: ignore[union-attr]
    tracker = httpx.get(f"{base}/conversations/tg:{sender}/tracker", timeout=60).json()
    return sum(
        1
        for e in tracker["events"]
        if e.get("event") == "user"
        and ((e.get("metadata") or {}).get("telegram") or {}).get("update_id") == update_id
    )


def test_an_update_sent_again_is_answered_again_not_handled_again(e2e: Stack) -> None:
    first = _turn(e2e, "康乐苑3栋门口盏路灯唔着成个礼拜", 990001)
    assert first, "Rasa answered nothing"
    again = _turn(e2e, "康乐苑3栋门口盏路灯唔着成个礼拜", 990001)
    assert again == first
    assert _user_turns(e2e, SENDER_ID, 990001) == 1
    following = _turn(e2e, "对", 990002)
    assert following and following != first
    assert _user_turns(e2e, SENDER_ID, 990002) == 1


def test_the_same_update_twice_at_once_is_handled_once(e2e: Stack) -> None:
    sender = SENDER_ID + 1
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.map(
            lambda _: _turn(e2e, "幸福路12号门口井盖松咗，好危险", 990101, sender), range(2)
        )
    assert a and a == b
    assert _user_turns(e2e, sender, 990101) == 1


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_a_turn_with_the_lock_store_down_is_refused_so_the_bot_retries_it(
    e2e: Stack, tmp_path: Path
) -> None:
    """Rasa with its lock store on Redis (as in the cluster profile): while Redis is down a turn is
    answered 503 (the bot sends the update again later), not an empty list the bot would take for
    "not understood"; once Redis is back the same update is handled."""
    redis = processes.Redis(tmp_path)
    redis.start()
    action_port = int(e2e.actions.ready_url.rsplit(":", 1)[1].split("/")[0])  # type: ignore[union-attr]
    rasa = processes.rasa_server(
        e2e.rasa.env,
        tmp_path,
        action_port,
        lock_store=f"lock_store:\n  type: redis\n  url: 127.0.0.1\n  port: {redis.port}\n  db: 0\n",
    )
    try:
        rasa.start(timeout=400)
        base = rasa.ready_url.rsplit("/", 1)[0]  # type: ignore[union-attr]
        assert _turn(e2e, "你好", 990201, SENDER_ID + 2, base=base)
        redis.stop()
        body = _body("康乐苑5栋门口盏路灯唔着成个礼拜", 990202, SENDER_ID + 2)
        refused = httpx.post(f"{base}/webhooks/rest/webhook", json=body, timeout=120)
        assert refused.status_code == 503
        redis.start()
        answers = _turn(e2e, "康乐苑5栋门口盏路灯唔着成个礼拜", 990202, SENDER_ID + 2, base=base)
        assert any("对吗" in (a.get("text") or "") for a in answers), answers
    finally:
        rasa.stop()
        redis.stop()

"""``make chat``: talk to the whole stack in the terminal as a resident, without a Telegram token.

The bot runs exactly as in production (inbox, handlers, Rasa dialogue, actions, real tickets in the
configured database, outbox) with Telegram replaced by the terminal (``bot.terminal``). The Rasa server and
the action server are used when running (``make run`` in another terminal); otherwise they are started
here and stopped on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx

from bot.app import build_application, post_init, post_shutdown, run
from bot.config import BotConfig
from bot.terminal import TerminalTelegram
from tickets import migrate, units
from tickets.db import Database
from tickets.settings import ROOT, VAR_DIR, Settings

RASA_MODEL = ROOT / "models" / "rasa" / "minwei.tar.gz"
HELLO = """民微终端对话 —— 您是居民「{name}」（Telegram 编号 {uid}）。
直接输入要反映的问题，例如：幸福花园3栋电梯又坏了。按钮用数字选择，/my 看工单，/quit 退出。
工单写入：{db}"""


def _up(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def start_backend(settings: Settings) -> list[subprocess.Popen[bytes]]:
    """Start the action server and the Rasa server unless they already answer."""
    started: list[subprocess.Popen[bytes]] = []
    logs = VAR_DIR / "log"
    logs.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SANIC_HOST": "127.0.0.1", "RASA_TELEMETRY_ENABLED": "false"}
    action_port = settings.action_server_port
    if not _up(f"http://127.0.0.1:{action_port}/health"):
        print(f"启动动作服务器（127.0.0.1:{action_port}），日志 {logs / 'chat-actions.log'}")
        started.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "rasa_sdk",
                    "--actions",
                    "actions",
                    "--port",
                    str(action_port),
                ],
                cwd=ROOT,
                env=env,
                stdout=(logs / "chat-actions.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
    if not _up(f"{settings.rasa_url}/status"):
        if not RASA_MODEL.exists():
            raise SystemExit("还没有训练好的 Rasa 模型：请先运行 make train")
        port = settings.rasa_url.rsplit(":", 1)[-1]
        endpoints = VAR_DIR / "chat-endpoints.yml"
        endpoints.write_text(
            (ROOT / "endpoints.yml")
            .read_text(encoding="utf-8")
            .replace("127.0.0.1:5055", f"127.0.0.1:{action_port}"),
            encoding="utf-8",
        )
        print(f"启动 Rasa 服务器（{settings.rasa_url}，约需半分钟），日志 {logs / 'chat-rasa.log'}")
        started.append(
            _spawn(
                [
                    str(ROOT / ".venv-rasa" / "bin" / "rasa"),
                    "run",
                    "--enable-api",
                    "-i",
                    "127.0.0.1",
                    "-p",
                    port,
                    "-m",
                    str(RASA_MODEL),
                    "--endpoints",
                    str(endpoints),
                    "--credentials",
                    str(ROOT / "credentials.yml"),
                ],
                env,
                logs / "chat-rasa.log",
            )
        )
    deadline = time.monotonic() + 300
    while not (
        _up(f"{settings.rasa_url}/status") and _up(f"http://127.0.0.1:{action_port}/health")
    ):
        if time.monotonic() > deadline or any(p.poll() is not None for p in started):
            stop_backend(started)
            raise SystemExit(f"Rasa 或动作服务器没有启动，请看 {logs} 下的日志")
        time.sleep(1)
    return started


def stop_backend(started: list[subprocess.Popen[bytes]]) -> None:
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 15)
    for process in started:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)


def prepare(settings: Settings) -> None:
    """Create or upgrade the database and load the units (as ``make run`` does)."""
    db = Database(settings.database_url)
    try:
        migrate.upgrade(db.engine)
        with db.unit_of_work() as uow:
            units.load_units(uow.session, settings.data_dir / "units.yml")
            uow.commit()
    finally:
        db.dispose()


async def chat(settings: Settings, config: BotConfig, uid: int, name: str) -> None:
    telegram = TerminalTelegram(user_id=uid, name=name, staff_chat_id=settings.staff_chat_id)
    app = build_application(settings, config, request=telegram)
    await app.initialize()
    stack = await post_init(app, settings, config)
    await app.start()
    stopping = asyncio.Event()
    running = asyncio.create_task(run(stack, stopping))
    print(
        HELLO.format(
            name=name, uid=uid, db=stack.deps.db.engine.url.render_as_string(hide_password=True)
        )
    )
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def read() -> None:  # a daemon thread: Ctrl-C / Ctrl-D never wait for it
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line.rstrip("\n"))
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read, daemon=True).start()
    try:
        while True:
            line = await lines.get()
            if line is None or line.strip() in ("/quit", "/exit"):
                break
            if line.strip():
                telegram.say(line.strip())
    finally:
        stopping.set()
        await running
        await app.stop()
        await app.shutdown()
        await post_shutdown(stack)


def main() -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    settings = replace(
        settings,
        telegram_bot_token=settings.telegram_bot_token or "0:terminal",
        group_classifier="rasa",
    )
    config = replace(
        BotConfig.from_env(),
        send_journal=VAR_DIR / "chat-outbox.journal",
        poll_timeout=5,
        outbox_poll_seconds=0.2,
    )
    uid = int(os.environ.get("MINWEI_CHAT_USER_ID", "100000001"))
    name = os.environ.get("MINWEI_CHAT_USER_NAME", "终端居民")
    prepare(settings)
    started = start_backend(settings)
    try:
        asyncio.run(chat(settings, config, uid, name))
    except KeyboardInterrupt:
        pass
    finally:
        stop_backend(started)
    print("\n再见！")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The independent multi-turn dialogue set (data/eval/dialogues.yml) through the real Rasa server and
action server: per conversation, was it filed when it should be, with the right category, urgency and
place; nothing filed for status questions and small talk.

    .venv/bin/python -m benchmarks.bench_dialogues                   # summary + JSON
    .venv/bin/python -m benchmarks.bench_dialogues --table           # + the README's table
    .venv/bin/python -m benchmarks.bench_dialogues --only d001 -v    # one conversation, transcript

Starts its own action server and Rasa server (models/rasa/minwei.tar.gz, or ``--rasa-model``) on a
fresh SQLite database with the demo district. The set is never trained or tuned on: this only reports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from tests.support import dialogues, processes
from tests.support.fake_telegram import free_port
from tickets import migrate, units
from tickets.db import Database
from tickets.domain import Domain
from tickets.settings import DATA_DIR, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=dialogues.DIALOGUES)
    parser.add_argument("--only", nargs="*", help="conversation ids to play")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--table", action="store_true", help="print the per-conversation table")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every transcript")
    parser.add_argument("--rasa-model", type=Path, default=processes.RASA_MODEL)
    args = parser.parse_args(argv)

    conversations = dialogues.load(args.data)
    if args.only:
        conversations = [c for c in conversations if c.id in set(args.only)]
    workdir = Path(tempfile.mkdtemp(prefix="minwei-dialogues-"))
    url = f"sqlite:///{workdir / 'minwei.sqlite3'}"
    db = Database(url)
    migrate.upgrade(db.engine)
    with db.unit_of_work() as uow:
        units.load_units(uow.session, DATA_DIR / "units.yml")
        uow.commit()
    action_port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BOT_", "TELEGRAM_", "RASA_", "DATABASE_", "STAFF_"))
    }
    env.update(
        {
            "DATABASE_URL": url,
            "MINWEI_DATA_DIR": str(DATA_DIR),
            "STAFF_CHAT_ID": "-1009000001",
            "ACTION_SERVER_PORT": str(action_port),
            "PYTHONUNBUFFERED": "1",
        }
    )
    os.environ["MINWEI_E2E_RASA_MODEL"] = str(args.rasa_model)
    actions = processes.action_server(env, workdir, action_port)
    rasa = processes.rasa_server(env, workdir, action_port)
    rasa.argv[rasa.argv.index("-m") + 1] = str(args.rasa_model)
    env["RASA_URL"] = rasa.ready_url.rsplit("/", 1)[0]  # type: ignore[union-attr]
    actions.env["RASA_URL"] = env["RASA_URL"]
    try:
        actions.start()
        rasa.start(timeout=400)
        settings = Settings.from_env(environ=env, env_file=workdir / "none.env")
        player = dialogues.Player(env["RASA_URL"], db, Domain.load(settings))
        started = time.monotonic()
        played = dialogues.play_all(player, conversations, workers=args.workers)
        seconds = time.monotonic() - started
    finally:
        rasa.stop()
        actions.stop()
    scores = [dialogues.score(p) for p in played]
    if args.verbose:
        for p, s in zip(played, scores, strict=True):
            print(f"\n=== {p.conversation.id} ({p.conversation.style}) {'OK' if s.ok else 'MISS'}")
            print(f"    {p.conversation.note}")
            for who, text in p.transcript:
                print(f"  {who}: {text}")
            print(f"  → {p.tickets}")
            if p.error:
                print(f"  ! {p.error}")
    if args.table:
        print(dialogues.table(scores))
    summary = dialogues.summarise(scores).as_dict()
    misses = [s.id for s in scores if not s.ok]
    errors = [line for proc in (actions, rasa) for line in proc.errors()]
    print(f"played {len(played)} conversations in {seconds:.1f} s; misses: {' '.join(misses)}")
    if errors:
        print(f"{len(errors)} ERROR lines in {workdir}", file=sys.stderr)
    print(json.dumps({**summary, "seconds": round(seconds, 1)}, ensure_ascii=False))
    db.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The console as the benchmark runs it: ``python -m console`` with the caches turned off, so every
request does its full work (counts per filter, dashboards). Settings come from the environment."""

from __future__ import annotations

import argparse
import logging

from console.app import create_app
from console.server import serve
from tickets.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--cache", action="store_true", help="keep the caches on (production setting)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    settings = Settings.from_env()
    app = create_app(settings, classifier=None, caches=args.cache)
    serve(app, host="127.0.0.1", port=settings.console_port, log_level="warning")


if __name__ == "__main__":
    main()

"""Run the console: ``python -m console`` ($CONSOLE_HOST:$CONSOLE_PORT, default 127.0.0.1:8000)."""

import logging

from console.app import create_app
from console.server import serve
from tickets.settings import Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:  %(name)s: %(message)s")
    settings = Settings.from_env()
    serve(create_app(settings), host=settings.console_host, port=settings.console_port)


if __name__ == "__main__":
    main()

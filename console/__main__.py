"""Run the console: ``python -m console`` (127.0.0.1:$CONSOLE_PORT)."""

import logging

from console.app import create_app
from console.server import serve
from tickets.settings import Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:  %(name)s: %(message)s")
    settings = Settings.from_env()
    serve(create_app(settings), host="127.0.0.1", port=settings.console_port)


if __name__ == "__main__":
    main()

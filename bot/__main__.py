"""``python -m bot``: run the Telegram bot (polling by default, webhook with BOT_MODE=webhook)."""

import sys

from bot.app import main

if __name__ == "__main__":
    sys.exit(main())

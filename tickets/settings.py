"""Settings, read once at start-up from the environment (and a ``.env`` file when present)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
VAR_DIR = ROOT / "var"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a ``KEY=value`` file (``#`` comments, optional quotes); missing file → empty dict."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    if value.lower() not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value.lower()


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with embedded defaults that run on one machine."""

    database_url: str = f"sqlite:///{VAR_DIR / 'minwei.sqlite3'}"
    telegram_bot_token: str = ""
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    staff_chat_id: int | None = None
    rasa_url: str = "http://127.0.0.1:5005"
    action_server_port: int = 5055
    console_port: int = 8000
    # The address the console listens on: loopback unless a load balancer on another machine must
    # reach it (CONSOLE_HOST=0.0.0.0 or this machine's address).
    console_host: str = "127.0.0.1"
    console_secret_key: str = ""
    # Where the signing key lives when CONSOLE_SECRET_KEY is not set (tickets.links).
    secret_file: Path = VAR_DIR / "secret.key"
    # The console's address as residents reach it: public progress links start with it.
    public_base_url: str = "http://127.0.0.1:8000"
    # A phone number residents may call, printed on project site signs when set (PUBLIC_HOTLINE).
    public_hotline: str = ""
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    data_dir: Path = DATA_DIR
    # Case clustering (个案到类案): join an open case of the same category and area within this window
    # when the text similarity reaches the threshold.
    cluster_window_days: int = 14
    cluster_threshold: float = 0.30
    # First-response time limits used by 响应率 (hours).
    response_limit_hours: int = 24
    urgent_response_limit_hours: int = 1
    # After a filing, what the resident says within this many minutes goes on the ticket (a place, more
    # information) unless it starts a new report.
    report_followup_minutes: int = 30
    # Group messages (a bound grid group, the console's 试一试): filed when the NLU says it is a demand
    # with P(demand) ≥ group_file_threshold; from group_review_threshold up it goes to the review queue
    # (待复核); below, it is chatter and dropped. The NLU's own decision point is about 0.58; group
    # messages are unsolicited, so a ticket needs more certainty and the wide band below goes to a
    # person (see the README for the measured split).
    group_file_threshold: float = 0.80
    group_review_threshold: float = 0.40
    # Group messages and forwards are classified by ``pipeline`` (the NLU in the bot's or the console's
    # own process, from nlu_model_dir, default models/nlu) or ``rasa`` (Rasa's /model/parse).
    group_classifier: str = "pipeline"
    nlu_model_dir: Path | None = None
    # Timeout for one call to the Rasa server, in seconds.
    rasa_timeout: float = 30.0
    # Learning from staff corrections (tickets.learning): where model versions live (default
    # models/registry), whether a correction counts only once a second person made the same one, and
    # how far below the active model a headline figure may fall for a candidate to be promoted.
    model_registry: Path | None = None
    learning_require_confirmation: bool = False
    learning_tolerance: float = 0.005
    # A pinned ticket whose text names no place the gazetteer knows goes to the nearest unit with a
    # centre point (units.yml lat/lng) at most this many kilometres away; farther, the place is unknown.
    nearest_unit_km: float = 3.0
    # The console's map tiles: a URL template such as https://tile.openstreetmap.org/{z}/{x}/{y}.png
    # (mind the tile server's usage policy) and the attribution it requires. Empty: no tiles, the map
    # draws the points on a plain background (offline).
    map_tiles: str = ""
    map_attribution: str = ""
    # Photos (tickets.photos): the largest file accepted, in bytes (a resident sending a larger one is
    # told so); Telegram's file downloads (default: the API address with /file/ before /bot).
    photo_max_bytes: int = 5 * 1024 * 1024
    telegram_file_base_url: str = ""

    @classmethod
    def from_env(
        cls, environ: dict[str, str] | None = None, env_file: Path | None = None
    ) -> Settings:
        """Build settings from ``environ`` (default ``os.environ``) over the ``.env`` file."""
        env = read_env_file(env_file if env_file is not None else ROOT / ".env")
        env.update(os.environ if environ is None else environ)

        def get(name: str) -> str | None:
            value = env.get(name)
            return value if value not in (None, "") else None

        defaults = cls()
        staff = get("STAFF_CHAT_ID")
        return cls(
            database_url=get("DATABASE_URL") or defaults.database_url,
            telegram_bot_token=get("TELEGRAM_BOT_TOKEN") or "",
            telegram_api_base_url=get("TELEGRAM_API_BASE_URL") or defaults.telegram_api_base_url,
            staff_chat_id=int(staff) if staff else None,
            rasa_url=(get("RASA_URL") or defaults.rasa_url).rstrip("/"),
            action_server_port=int(get("ACTION_SERVER_PORT") or defaults.action_server_port),
            console_port=int(get("CONSOLE_PORT") or defaults.console_port),
            console_host=get("CONSOLE_HOST") or defaults.console_host,
            console_secret_key=get("CONSOLE_SECRET_KEY") or "",
            secret_file=Path(get("MINWEI_SECRET_FILE") or defaults.secret_file),
            public_base_url=(
                get("PUBLIC_BASE_URL")
                or f"http://127.0.0.1:{int(get('CONSOLE_PORT') or defaults.console_port)}"
            ).rstrip("/"),
            public_hotline=(get("PUBLIC_HOTLINE") or "").strip()[:40],
            timezone=ZoneInfo(get("MINWEI_TIMEZONE") or "Asia/Shanghai"),
            data_dir=Path(get("MINWEI_DATA_DIR") or DATA_DIR),
            cluster_window_days=int(get("CLUSTER_WINDOW_DAYS") or defaults.cluster_window_days),
            cluster_threshold=float(get("CLUSTER_THRESHOLD") or defaults.cluster_threshold),
            response_limit_hours=int(get("RESPONSE_LIMIT_HOURS") or defaults.response_limit_hours),
            urgent_response_limit_hours=int(
                get("URGENT_RESPONSE_LIMIT_HOURS") or defaults.urgent_response_limit_hours
            ),
            report_followup_minutes=int(
                get("REPORT_FOLLOWUP_MINUTES") or defaults.report_followup_minutes
            ),
            group_file_threshold=float(
                get("BOT_GROUP_FILE_THRESHOLD") or defaults.group_file_threshold
            ),
            group_review_threshold=float(
                get("BOT_GROUP_REVIEW_THRESHOLD") or defaults.group_review_threshold
            ),
            group_classifier=_choice(
                "BOT_GROUP_CLASSIFIER",
                get("BOT_GROUP_CLASSIFIER") or "pipeline",
                ("pipeline", "rasa"),
            ),
            nlu_model_dir=Path(nlu_dir) if (nlu_dir := get("BOT_NLU_MODEL_DIR")) else None,
            rasa_timeout=float(get("BOT_RASA_TIMEOUT") or defaults.rasa_timeout),
            model_registry=Path(reg) if (reg := get("MINWEI_MODEL_REGISTRY")) else None,
            learning_require_confirmation=(get("LEARNING_REQUIRE_CONFIRMATION") or "").lower()
            in ("1", "true", "yes"),
            learning_tolerance=float(get("LEARNING_TOLERANCE") or defaults.learning_tolerance),
            nearest_unit_km=float(get("MINWEI_NEAREST_UNIT_KM") or defaults.nearest_unit_km),
            map_tiles=get("MINWEI_MAP_TILES") or "",
            map_attribution=get("MINWEI_MAP_ATTRIBUTION") or "",
            photo_max_bytes=int(get("PHOTO_MAX_BYTES") or defaults.photo_max_bytes),
            telegram_file_base_url=get("TELEGRAM_FILE_BASE_URL") or "",
        )

    @property
    def file_base_url(self) -> str:
        """Where Telegram's files are downloaded from: ``https://api.telegram.org/file/bot`` for the
        default API address, and likewise for a local Bot API server or the tests' fake."""
        if self.telegram_file_base_url:
            return self.telegram_file_base_url
        base = self.telegram_api_base_url.rstrip("/")
        head, _, tail = base.rpartition("/")
        return f"{head}/file/{tail}"

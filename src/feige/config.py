"""Settings from the environment (prefix ``FEIGE_``) and an optional TOML file.

Every default of ``docs/rules.md`` is a setting here so an operator can change it without code.
The TOML file is named by ``FEIGE_CONFIG`` (default ``./feige.toml`` when it exists).
Each field's ``description`` says what it is for; ``settings_markdown`` renders them as the
table of README.md's "Configuration" (``feige settings``), and a test keeps the two equal.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def _toml_path() -> Path:
    return Path(os.environ.get("FEIGE_CONFIG", "feige.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FEIGE_", extra="ignore")

    # --- storage and server -------------------------------------------------------------
    data_dir: Path = Field(
        default=Path("var"),
        description="Directory of the SQLite database, uploaded images and the generated "
        "signing key.",
    )
    database_url: str = Field(
        default="",
        description="SQLAlchemy database URL, e.g. `postgresql+psycopg://user@host/db` for "
        "scale-out. Empty: the SQLite file `feige.db` under `FEIGE_DATA_DIR`.",
    )
    redis_url: str = Field(
        default="",
        description="Redis URL (`redis://…`, `rediss://…`): switches scale-out on. Events "
        "fan out between nodes over Redis pub/sub (sharded on Redis 7), and the rate-limit "
        "counts live there (docs/operations.md). Needs PostgreSQL. Empty: one node, "
        "in-process fan-out.",
    )
    redis_gap_grace_ms: float = Field(
        default=250.0,
        description="With Redis: how long a node waits for a session's message that arrived "
        "out of order before reading it from the database.",
    )
    redis_catch_up_seconds: float = Field(
        default=10.0,
        description="With Redis: how often a node checks the sessions it heard of lately "
        "against the database, for a last message Redis lost.",
    )
    redis_revocation_poll_seconds: float = Field(
        default=30.0,
        ge=0,
        description="With Redis: how often a node reads the token versions of the accounts "
        "with sockets on it, so a revocation whose event Redis lost still closes them (0: "
        "only after a loss the node noticed).",
    )
    host: str = Field(
        default="127.0.0.1", description="Address `feige serve` listens on (`--host`)."
    )
    port: int = Field(default=8000, description="TCP port `feige serve` listens on (`--port`).")
    secret_key: str = Field(
        default="",
        description="Key that signs Feige's own tokens (secret). Empty: generated once into "
        "`FEIGE_DATA_DIR/secret_key` (mode 0600) and kept.",
    )
    platform_secret: str = Field(
        default="",
        description="HMAC secret the marketplace signs consumer tokens with (secret; "
        "docs/security.md). Empty: consumer tokens are refused until it is set "
        "(`--demo` generates one into `FEIGE_DATA_DIR`).",
    )
    token_ttl_seconds: int = Field(
        default=12 * 3600, description="Lifetime of a sign-in token, in seconds."
    )
    log_level: str = Field(
        default="INFO", description="Log level of Feige and uvicorn: DEBUG, INFO, WARNING or ERROR."
    )
    log_json: bool = Field(default=False, description="Log JSON lines instead of readable text.")
    loop_stall_dump_seconds: float = Field(
        default=10.0,
        description="An event loop that does not turn for this many seconds gets every "
        "thread's stack dumped to stderr (0: off); the lag is in `/metrics` as "
        "`feige_loop_lag_seconds`.",
    )
    language: str = Field(
        default="zh-CN",
        description="The platform's language, `zh-CN` or `en`: what a client that names none "
        "(`Accept-Language`, `lang` at WebSocket auth) reads, and the language of notices "
        "written into sessions.",
    )

    # --- time (docs/rules.md §3) ----------------------------------------------------------
    timezone: str = Field(
        default="Asia/Shanghai",
        description="Platform time zone (IANA name) in which hours, days and weeks are read "
        "(docs/rules.md §3).",
    )
    assessment_hours_start: str = Field(
        default="08:00:00",
        description="First second of the daily assessment hours, local `HH:MM:SS` "
        "(docs/rules.md §3).",
    )
    assessment_hours_end: str = Field(
        default="22:59:59",
        description="Last second of the daily assessment hours, local `HH:MM:SS`, inclusive to "
        "its end (docs/rules.md §3).",
    )
    assessment_run_weekday: int = Field(
        default=1,
        description="Day of the weekly assessment run, 0 = Monday … 6 = Sunday; 1 is Tuesday "
        "(docs/rules.md §3).",
    )
    assessment_run_time: str = Field(
        default="02:00",
        description="Local time of the weekly assessment run, `HH:MM` (docs/rules.md §3).",
    )
    assessment_scheduler: bool = Field(
        default=True,
        description="Run the weekly assessment job in this process (it runs once per week "
        "however many processes share the database); false: run it with "
        "`feige run-assessment`.",
    )
    assessment_job_lease_seconds: float = Field(
        default=3600.0,
        description="A weekly run a process started and never finished (it died) may be "
        "taken over by another process after this many seconds.",
    )
    summary_refresh_seconds: float = Field(
        default=5.0,
        description="How often closed sessions' metrics summaries are brought up to date, in "
        "seconds.",
    )

    # --- sessions and reception (docs/rules.md 2.1, 2.2.1) ----------------------------------
    session_idle_close_seconds: float = Field(
        default=30 * 60,
        description="A session closes after this many seconds without a message from either "
        "side (docs/rules.md 2.1); offline-message sessions wait for an agent instead.",
    )
    idle_check_interval_seconds: float = Field(
        default=30.0, description="How often idle sessions are looked for, in seconds."
    )
    default_agent_capacity: int = Field(
        default=10,
        description="Open sessions an agent receives at most, for agents created without one "
        "(docs/rules.md 2.2.1).",
    )
    default_routing_mode: str = Field(
        default="priority",
        description="Assignment mode of a new shop: `priority` or `even` (docs/rules.md 2.2.1).",
    )
    default_welcome_message: str = Field(
        default="您好，欢迎光临，请问有什么可以帮您？",
        description="Welcome message of a new shop, sent on assignment as a `system` message "
        "(docs/rules.md 2.2.1); checked against docs/rules.md 2.2.3–2.2.10 at start.",
    )
    offline_prompt: str = Field(
        default="客服暂时不在线，请留言，我们会尽快回复您。",
        description="Sent to a buyer whose session becomes an offline message "
        "(docs/rules.md 2.2.1).",
    )
    queue_prompt: str = Field(
        default="当前咨询人数较多，您已进入排队，请稍候。",
        description="Sent to a buyer whose session is queued (docs/rules.md 2.2.1).",
    )
    no_human_reply_streak: int = Field(
        default=10,
        description="Human sessions in a row closing with the buyer's last round unanswered "
        "that make a `no_human_reply` record (docs/rules.md 2.2.1).",
    )

    # --- the robot's automatic switch (docs/rules.md 2.2.1) ---------------------------------
    robot_auto_switch: bool = Field(
        default=True,
        description="Switch a shop's intelligent assist on automatically when its rolling "
        "average response time is too long, and off again when it is back (docs/rules.md "
        "2.2.1); false: only by hand.",
    )
    robot_window_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="The rolling window of the automatic switch: rounds answered (or expired "
        "unanswered) this many seconds back count (docs/rules.md 2.2.1).",
    )
    robot_window_min_rounds: int = Field(
        default=5,
        ge=1,
        description="Fewer assessed rounds in the window never switch assist on.",
    )
    robot_switch_on_above_seconds: float = Field(
        default=90.0,
        description="A rolling average response time above this switches assist on.",
    )
    robot_switch_off_at_or_below_seconds: float = Field(
        default=60.0,
        description="A rolling average at or below this (or no round in the window) counts "
        "as calm …",
    )
    robot_switch_off_after_seconds: float = Field(
        default=3600.0,
        description="… and calm for this many seconds switches the automatic assist off.",
    )
    robot_tick_seconds: float = Field(
        default=1.0,
        gt=0,
        description="How often a node expires unanswered rounds into the window and checks "
        "the switch (a round answered is checked at once).",
    )
    robot_turn_recovery_seconds: float = Field(
        default=10.0,
        gt=0,
        description="A buyer message to the full-auto robot that no turn took within this "
        "many seconds (its node died) is taken by the node holding the `robot_turns` lease, "
        "which looks this often.",
    )
    robot_window_rebuild_seconds: float = Field(
        default=0.0,
        ge=0,
        description="Rebuild the rolling windows from the store this often (0: only at "
        "start on one node; with Redis, several nodes, every 10 s by the node holding the "
        "`robot_window` lease, which alone decides).",
    )
    robot_assist_reply_seconds: float = Field(
        default=20.0,
        gt=0,
        description="In assist mode, the robot answers a buyer message itself when no agent "
        "has answered it within this many seconds and its top suggestion is confident "
        "(docs/robot-modes.md).",
    )
    robot_assist_suggestions: int = Field(
        default=3, ge=1, le=10, description="How many suggestions an agent sees per message."
    )
    robot_handover_after_unanswered: int = Field(
        default=2,
        ge=1,
        le=10,
        description="In full-auto mode, the robot hands a session to a person after this "
        "many buyer questions in a row it could not answer (docs/robot-modes.md).",
    )
    robot_word_vectors: str = Field(
        default="",
        description="The robot's word vectors (an opt-in sentence encoder of its meaning "
        "layer, docs/robot.md): a file built by `tools/build_word_vectors.py`; empty: "
        "`src/feige/robot/data/word_vectors.npz` when it has been built there, else none; "
        "`none`: without.",
    )

    # --- messages ----------------------------------------------------------------------------
    max_text_chars: int = Field(
        default=2000, description="Longest text message (and quick reply), in characters."
    )
    max_frame_bytes: int = Field(
        default=64 * 1024, description="Largest WebSocket frame a client may send, in bytes."
    )
    ws_impl: str = Field(
        default="auto",
        description="uvicorn's WebSocket implementation: `auto`, `websockets`, "
        "`websockets-sansio` or `wsproto`.",
    )
    max_image_bytes: int = Field(
        default=5 * 1024 * 1024, description="Largest image upload, in bytes."
    )
    image_types: list[str] = Field(
        default_factory=lambda: ["image/png", "image/jpeg", "image/gif", "image/webp"],
        description="Image types (MIME) an upload may be.",
    )
    # --- a socket's outbound limits (security: one socket must not eat the server's memory) -
    ws_outbound_max_frames: int = Field(
        default=2000,
        ge=16,
        description="Frames queued for one connection at most; a reader that falls this far "
        "behind is closed with 4008 and resumes by sequence on a new connection "
        "(docs/security.md).",
    )
    ws_outbound_max_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=16 * 1024,
        description="Bytes queued for one connection at most, as `FEIGE_WS_OUTBOUND_MAX_FRAMES`.",
    )
    ws_resume_page: int = Field(
        default=200,
        ge=1,
        description='Messages in one `resume` reply at most (`"more": true` when there are '
        "more), and never more than half of either outbound limit.",
    )
    ws_resume_max_sessions: int = Field(
        default=1000, ge=1, description="Sessions one resume map may name at most."
    )
    ws_ready_max_sessions: int = Field(
        default=2000,
        ge=1,
        description="Open sessions listed in `ready`; past them `sessions_more` is true.",
    )
    # --- the writer (group commit) ---------------------------------------------------------
    group_commit_max_batch: int = Field(
        default=512, description="Write jobs committed in one transaction at most."
    )
    group_commit_gather_ms: float = Field(
        default=2.0,
        description="How long the writer waits for more jobs before committing a small batch, "
        "in milliseconds.",
    )
    writer_inline: bool | None = Field(
        default=None,
        description="Run the writer on the event loop (true) or in a thread (false). Unset: "
        "on the loop for SQLite, a thread otherwise.",
    )

    # --- metrics (docs/rules.md §3) --------------------------------------------------------
    response_cap_seconds: int = Field(
        default=600,
        description="Response time cap, in seconds: an unanswered round counts this long "
        "(docs/rules.md §3 (1) note 2).",
    )
    reply_in_time_seconds: int = Field(
        default=180,
        description="A reply within this many seconds (inclusive) is in time for the 3-minute "
        "reply rate (docs/rules.md §3 (1)).",
    )
    n_second_reply_seconds: int = Field(
        default=30,
        description="N of the N-second reply rate, in seconds; reported, not assessed "
        "(docs/rules.md §3).",
    )
    no_service_wait_seconds: int = Field(
        default=15 * 60,
        description="A queued or offline session not assigned within this many seconds is a "
        "no-service session (docs/rules.md §3 (1)).",
    )
    standard_no_service_rate: float = Field(
        default=0.20,
        description="Standard: the no-service rate must be below this fraction "
        "(docs/rules.md §3 (1)).",
    )
    standard_three_minute_reply_rate: float = Field(
        default=0.80,
        description="Standard: the 3-minute reply rate must be at least this fraction "
        "(docs/rules.md §3 (1)).",
    )
    standard_avg_response_seconds: float = Field(
        default=90.0,
        description="Standard: the average response time must be below this, in seconds "
        "(docs/rules.md §3 (1)).",
    )
    standard_dissatisfaction_rate: float = Field(
        default=0.30,
        description="Standard: the dissatisfaction rate must be below this fraction "
        "(docs/rules.md §3 (2)).",
    )

    # --- compliance (docs/rules.md 2.2.3–2.2.10) -------------------------------------------
    platform_domains: list[str] = Field(
        default_factory=lambda: ["feige.example", "shop.example"],
        description="The marketplace's own domains: links to them are not third-party links "
        "(docs/rules.md 2.2.3–2.2.10).",
    )
    moderation_policy: dict[str, str] = Field(
        default_factory=dict,
        description='Overrides of the moderation policy table, `"category:role"` → action '
        '(roles `buyer`, `agent`), e.g. `{"abuse:buyer": "review", '
        '"third_party.contact:buyer": "block"}` (docs/moderation.md).',
    )
    moderation_lexicon_paths: list[str] = Field(
        default_factory=list,
        description="Extra lexicon directories or files (same names as the packaged ones) and "
        "allow-lists (docs/moderation.md).",
    )
    # --- consumer-visible content and image scans (docs/security.md) ----------------------
    card_url_domains: list[str] = Field(
        default_factory=list,
        description="Domains (and their subdomains) a product card's links may point to, "
        "http(s) only. Empty: `FEIGE_PLATFORM_DOMAINS`.",
    )
    max_image_pixels: int = Field(
        default=40_000_000,
        description="An upload whose header declares more pixels is refused (422) before "
        "anything is decoded.",
    )
    image_scan_concurrency: int = Field(
        default=1,
        description="Image decodes and QR scans that may run at once per process, each in a "
        "worker thread.",
    )

    # --- abuse limits and HTTP hardening (docs/security.md) ----------------------------------
    # Rate limits are `limits` strings; "5 per 15 minutes; 20 per day" applies every part, so a
    # client that keeps going waits longer each time. Defaults are far above what a busy agent,
    # a chatty buyer or bench/chat_throughput.py's 3,000 msg/s over 500 buyers (6/s each) reach.
    rate_limits_enabled: bool = Field(
        default=True,
        description="Enforce the limits below: 429 with `Retry-After`, `rate_limited` frames "
        "on the socket (docs/security.md).",
    )
    rate_limit_storage_url: str = Field(
        default="",
        description="Where the counts live: any `limits` async storage URL. Empty: Redis from "
        "`FEIGE_REDIS_URL` when it is set, so every node shares the counts; this process's "
        "memory otherwise.",
    )
    rate_limit_key_prefix: str = Field(
        default="feige",
        description="Prefix of the Redis keys and pub/sub channels (one per deployment or test).",
    )
    login_failures_per_username: str = Field(
        default="5 per 15 minutes; 10 per hour; 20 per day",
        description="Failed password sign-ins per username, a `limits` string; successful ones "
        "never count.",
    )
    login_failures_per_address: str = Field(
        default="50 per 15 minutes; 200 per day",
        description="Failed password sign-ins per client address, a `limits` string.",
    )
    consumer_send_rate: str = Field(
        default="300 per 10 seconds",
        description="Messages per consumer (socket and REST together), a `limits` string; every "
        "part is a check on the message path.",
    )
    member_send_rate: str = Field(
        default="600 per 10 seconds",
        description="Messages per shop member (socket and REST together), a `limits` string.",
    )
    upload_count_rate: str = Field(
        default="300 per day", description="Image uploads per account, a `limits` string."
    )
    upload_bytes_per_day: int = Field(
        default=512 * 1024 * 1024, description="Uploaded bytes per account and day."
    )
    upload_unsent_ttl_seconds: float = Field(
        default=24 * 3600,
        description="Uploads no message (or violation record) refers to are deleted after this "
        "many seconds.",
    )
    upload_sweep_interval_seconds: float = Field(
        default=600.0, description="How often unsent uploads are looked for, in seconds."
    )
    max_sockets_per_account: int = Field(
        default=20, description="Open WebSockets per account, on each node."
    )
    ping_rate_per_socket: str = Field(
        default="30 per minute", description="`ping` frames per socket, a `limits` string."
    )
    rest_rate_per_token: str = Field(
        default="600 per minute",
        description="REST calls with a bearer token, per token, a `limits` string.",
    )
    rest_rate_per_address: str = Field(
        default="1200 per minute",
        description="REST calls without a token (or with a refused one), per client address, "
        "a `limits` string.",
    )
    max_json_body_bytes: int = Field(
        default=1024 * 1024,
        description="Largest request body, in bytes (413 above); uploads may carry "
        "`FEIGE_MAX_IMAGE_BYTES` + 64 KiB.",
    )
    frame_ancestors: list[str] = Field(
        default_factory=lambda: ["'none'"],
        description="CSP `frame-ancestors`: who may show Feige in a frame. `'none'` forbids "
        "it; a marketplace that embeds the chat lists its origins, e.g. "
        '`["https://shop.example"]`.',
    )
    image_url_ttl_seconds: int = Field(
        default=300,
        description="Lifetime of signed image links (`GET /api/images/{id}/url`), in seconds.",
    )
    metrics_enabled: bool = Field(default=True, description="Serve `/metrics` at all.")
    metrics_token: str = Field(
        default="",
        description="Bearer token `/metrics` requires (secret). Empty: only loopback clients "
        "may read it.",
    )

    # --- enforcement (docs/enforcement.md, docs/rules.md §4) ------------------------------------
    enforcement_policy_path: str = Field(
        default="",
        description="A TOML file overriding the enforcement policy (points per category and "
        "severity, thresholds, measures, assessment ladder, consumer mutes and bans) key by key "
        "over the defaults in `feige/enforcement/enforcement.toml`. Empty: the defaults.",
    )
    marketplace_webhook_url: str = Field(
        default="",
        description="Where enforcement events (measures, decisions, order-close requests) are "
        "POSTed, signed with HMAC-SHA256. Empty: they wait in the outbox.",
    )
    marketplace_webhook_secret: str = Field(
        default="",
        description="Key of the webhook's `X-Feige-Signature` (HMAC-SHA256, secret).",
    )
    webhook_retry_seconds: float = Field(
        default=5.0,
        gt=0,
        description="First retry delay of a failed webhook delivery; doubled per attempt, at "
        "most one hour.",
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often the webhook worker looks for due deliveries."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _toml_path()
        if path.is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def signing_key(self) -> str:
        """The token signing key: the setting, or one generated once into the data dir."""
        if not self.secret_key:
            from feige.store.private import generated_secret

            self.secret_key = generated_secret(self.data_dir / "secret_key")
        return self.secret_key

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'feige.db').as_posix()}"


# The table's sections: each starts at the named field and runs to the next one (field order).
SECTIONS: dict[str, str] = {
    "data_dir": "Storage and server",
    "timezone": "Time (docs/rules.md §3)",
    "session_idle_close_seconds": "Sessions and reception (docs/rules.md 2.1, 2.2.1)",
    "max_text_chars": "Messages",
    "ws_outbound_max_frames": "A socket's outbound limits (docs/security.md)",
    "group_commit_max_batch": "The writer (group commit)",
    "response_cap_seconds": "Metrics (docs/rules.md §3)",
    "platform_domains": "Compliance (docs/rules.md 2.2.3–2.2.10)",
    "card_url_domains": "Consumer-visible content and image scans (docs/security.md)",
    "rate_limits_enabled": "Abuse limits and HTTP hardening (docs/security.md)",
    "enforcement_policy_path": "Enforcement (docs/enforcement.md, docs/rules.md §4)",
}
SECRETS = frozenset(
    {"secret_key", "platform_secret", "metrics_token", "marketplace_webhook_secret"}
)
REDACTED = "<redacted>"
SETTINGS_BEGIN = "<!-- settings:begin -->"
SETTINGS_END = "<!-- settings:end -->"


def env_name(field: str) -> str:
    return f"FEIGE_{field.upper()}"


def _default_value(name: str) -> Any:
    return Settings.model_fields[name].get_default(call_default_factory=True)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _render_default(name: str, value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, int | float):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and "_bytes" in name and value >= 1024:
            for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
                if value % size == 0:
                    return f"{value} ({value // size} {unit})"
        return str(value)
    if isinstance(value, list | dict):
        return f"`{json.dumps(value, ensure_ascii=False)}`"
    text = value.as_posix() if isinstance(value, Path) else str(value)
    return f"`{text}`" if text else "(empty)"


def _bounds(name: str) -> str:
    parts = []
    for meta in Settings.model_fields[name].metadata:
        ge = getattr(meta, "ge", None)
        if ge is not None:
            parts.append(f"At least {ge}.")
    return " ".join(parts)


def settings_markdown() -> str:
    """Every setting as Markdown tables, one per section: the environment variable, its
    default and its description (README.md's "Configuration" holds this, generated)."""
    lines: list[str] = []
    for name, info in Settings.model_fields.items():
        if name in SECTIONS:
            if lines:
                lines.append("")
            lines += [
                f"### {SECTIONS[name]}",
                "",
                "| environment variable | default | description |",
                "| --- | --- | --- |",
            ]
        description = " ".join(p for p in (info.description or "", _bounds(name)) if p)
        default = _render_default(name, _default_value(name))
        lines.append(f"| `{env_name(name)}` | {_cell(default)} | {_cell(description)} |")
    return "\n".join(lines) + "\n"


def replace_settings_block(text: str, markdown: str | None = None) -> str:
    """``text`` (README.md) with the block between the settings markers replaced."""
    head, begin, rest = text.partition(SETTINGS_BEGIN)
    _, end, tail = rest.partition(SETTINGS_END)
    if not begin or not end:
        raise ValueError(f"no {SETTINGS_BEGIN} … {SETTINGS_END} block")
    body = settings_markdown() if markdown is None else markdown
    return f"{head}{SETTINGS_BEGIN}\n\n{body}\n{SETTINGS_END}{tail}"


def settings_json(settings: Settings) -> dict[str, Any]:
    """The settings' current values, JSON-ready, with the secrets redacted (shown only as set
    or empty)."""
    values = settings.model_dump(mode="json")
    for name in SECRETS:
        if values.get(name):
            values[name] = REDACTED
    return values


@lru_cache(maxsize=1)
def get_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)

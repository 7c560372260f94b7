"""Settings from the environment (prefix ``FEIGE_``) and an optional TOML file.

Every default of ``docs/rules.md`` is a setting here so an operator can change it without code.
The TOML file is named by ``FEIGE_CONFIG`` (default ``./feige.toml`` when it exists).
"""

from __future__ import annotations

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
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite file under data_dir
    redis_url: str = ""  # empty: in-process broker and presence
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = ""  # empty: generated once and kept in data_dir/secret_key
    # The HMAC secret the marketplace signs consumer tokens with. No default: while it is
    # unset, consumer tokens cannot be minted (``--demo`` generates one into data_dir).
    platform_secret: str = ""
    token_ttl_seconds: int = 12 * 3600
    log_level: str = "INFO"
    log_json: bool = False
    # A loop that does not turn for this long gets every thread's stack dumped to stderr.
    loop_stall_dump_seconds: float = 10.0
    language: str = "zh-CN"

    # --- time (docs/rules.md §3) ----------------------------------------------------------
    timezone: str = "Asia/Shanghai"
    assessment_hours_start: str = "08:00:00"
    assessment_hours_end: str = "22:59:59"
    assessment_run_weekday: int = 1  # Tuesday, Monday = 0
    assessment_run_time: str = "02:00"
    assessment_scheduler: bool = True  # run the weekly job in this process (once per week)
    summary_refresh_seconds: float = 5.0

    # --- sessions and reception (docs/rules.md 2.1, 2.2.1) ----------------------------------
    session_idle_close_seconds: float = 30 * 60
    idle_check_interval_seconds: float = 30.0
    default_agent_capacity: int = 10
    default_routing_mode: str = "priority"
    default_welcome_message: str = "您好，欢迎光临，请问有什么可以帮您？"
    offline_prompt: str = "客服暂时不在线，请留言，我们会尽快回复您。"
    queue_prompt: str = "当前咨询人数较多，您已进入排队，请稍候。"
    no_human_reply_streak: int = 10

    # --- messages ----------------------------------------------------------------------------
    max_text_chars: int = 2000
    max_frame_bytes: int = 64 * 1024
    # uvicorn's WebSocket implementation: auto | websockets | websockets-sansio | wsproto
    ws_impl: str = "auto"
    max_image_bytes: int = 5 * 1024 * 1024
    image_types: list[str] = Field(
        default_factory=lambda: ["image/png", "image/jpeg", "image/gif", "image/webp"]
    )
    # --- a socket's outbound limits (security: one socket must not eat the server's memory) -
    # Everything queued for one connection, in frames and bytes. A reader that falls this far
    # behind is closed with 4008 and resumes by sequence on a new connection.
    ws_outbound_max_frames: int = Field(default=2000, ge=16)
    ws_outbound_max_bytes: int = Field(default=8 * 1024 * 1024, ge=16 * 1024)
    # One `resume` reply holds at most this many messages ("more": true when there are more),
    # and never more than half of ws_outbound_max_frames or of ws_outbound_max_bytes.
    ws_resume_page: int = Field(default=200, ge=1)
    # A resume map names at most this many sessions.
    ws_resume_max_sessions: int = Field(default=1000, ge=1)
    # The open sessions listed in ``ready``; past them ``sessions_more`` is true.
    ws_ready_max_sessions: int = Field(default=2000, ge=1)
    group_commit_max_batch: int = 512
    group_commit_gather_ms: float = 2.0  # wait this long for more jobs before a small batch
    writer_inline: bool | None = None  # None: on the event loop for SQLite, a thread otherwise

    # --- metrics (docs/rules.md §3) --------------------------------------------------------
    response_cap_seconds: int = 600
    reply_in_time_seconds: int = 180
    n_second_reply_seconds: int = 30
    no_service_wait_seconds: int = 15 * 60
    standard_no_service_rate: float = 0.20
    standard_three_minute_reply_rate: float = 0.80
    standard_avg_response_seconds: float = 90.0
    standard_dissatisfaction_rate: float = 0.30

    # --- compliance (docs/rules.md 2.2.3–2.2.10) -------------------------------------------
    platform_domains: list[str] = Field(default_factory=lambda: ["feige.example", "shop.example"])
    # Overrides of the policy table, "category:role" -> action, e.g.
    # {"abuse:buyer": "review", "third_party.contact:buyer": "block"}; roles buyer | agent.
    moderation_policy: dict[str, str] = Field(default_factory=dict)
    # Extra lexicon directories or files (same names as the packaged ones) and allow-lists.
    moderation_lexicon_paths: list[str] = Field(default_factory=list)
    # --- consumer-visible content and image scans (docs/security.md) ----------------------
    # Where card links (a product card's image_url) may point: these domains and their
    # subdomains, http(s) only. Empty: the platform_domains.
    card_url_domains: list[str] = Field(default_factory=list)
    # An upload whose header declares more pixels is refused (422) before anything is decoded.
    max_image_pixels: int = 40_000_000
    # Image decodes and QR scans that may run at once per process (each in a worker thread).
    image_scan_concurrency: int = 1

    # --- abuse limits and HTTP hardening (docs/security.md) ----------------------------------
    # Rate limits are `limits` strings; "5 per 15 minutes; 20 per day" applies every part, so a
    # client that keeps going waits longer each time. Defaults are far above what a busy agent,
    # a chatty buyer or bench/chat_throughput.py's 3,000 msg/s over 500 buyers (6/s each) reach.
    rate_limits_enabled: bool = True
    # Empty: Redis (async+redis) when redis_url is set, so every node shares the counts;
    # in this process's memory otherwise. Any `limits` async storage URL works.
    rate_limit_storage_url: str = ""
    rate_limit_key_prefix: str = "feige"  # Redis key prefix (one per deployment or test)
    # Failed password sign-ins; successful ones never count.
    login_failures_per_username: str = "5 per 15 minutes; 10 per hour; 20 per day"
    login_failures_per_address: str = "50 per 15 minutes; 200 per day"
    # Messages per account (socket and REST together). One window each by default: every
    # part is a check on the message path ("…; 3000 per hour" adds one).
    consumer_send_rate: str = "300 per 10 seconds"
    member_send_rate: str = "600 per 10 seconds"
    upload_count_rate: str = "300 per day"  # image uploads per account
    upload_bytes_per_day: int = 512 * 1024 * 1024  # uploaded bytes per account and day
    # Uploads no message (or violation record) refers to are deleted after this long.
    upload_unsent_ttl_seconds: float = 24 * 3600
    upload_sweep_interval_seconds: float = 600.0
    max_sockets_per_account: int = 20  # open WebSockets per account, on each node
    ping_rate_per_socket: str = "30 per minute"
    rest_rate_per_token: str = "600 per minute"  # REST calls with a bearer token, per token
    rest_rate_per_address: str = "1200 per minute"  # REST calls without one, per client address
    max_json_body_bytes: int = 1024 * 1024  # request bodies; uploads get max_image_bytes + 64 KiB
    # CSP frame-ancestors: who may show Feige in a frame. ["'none'"] (default) forbids it;
    # a marketplace that embeds the chat lists its origins, e.g. ["https://shop.example"].
    frame_ancestors: list[str] = Field(default_factory=lambda: ["'none'"])
    image_url_ttl_seconds: int = 300  # signed image links (GET /api/images/{id}/url)
    # /metrics: off entirely, or behind this bearer token; without a token, loopback only.
    metrics_enabled: bool = True
    metrics_token: str = ""

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


@lru_cache(maxsize=1)
def get_settings(**overrides: Any) -> Settings:
    return Settings(**overrides)

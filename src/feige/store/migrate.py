"""Apply Alembic migrations programmatically (``feige serve`` and tests call this)."""

from __future__ import annotations

from importlib.resources import files

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from feige.store.db import create_db_engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(files("feige.store") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> None:
    command.upgrade(alembic_config(engine), "head")


def migrated_engine(url: str) -> Engine:
    """The engine of the database at ``url``, its schema brought up to date: how every
    command that works on the store opens it (the server migrates in its start-up)."""
    engine = create_db_engine(url)
    upgrade(engine)
    return engine

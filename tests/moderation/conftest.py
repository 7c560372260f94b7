from __future__ import annotations

import pytest

from feige.moderation import ModerationConfig, Moderator


@pytest.fixture(scope="session")
def mod() -> Moderator:
    """One engine for the read-only tests (building it takes most of a second)."""
    return Moderator(ModerationConfig(platform_domains=("feige.example", "shop.example")))

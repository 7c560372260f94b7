"""Compliance engine for rules 2.2.3–2.2.10 (docs/rules.md): pure, built once, no I/O per check.

>>> from feige.moderation import Moderator, ModerationConfig
>>> mod = Moderator(ModerationConfig(platform_domains=("feige.example",)))
>>> mod.check_text("加我薇信 abc123", role="agent").action
<ModerationAction.BLOCK: 'block'>
"""

from __future__ import annotations

from feige.moderation.categories import CATEGORIES, CLAUSES, LABELS
from feige.moderation.config import AGENT, BUYER, ModerationConfig, policy_role
from feige.moderation.engine import Moderator
from feige.moderation.image import ImageScan
from feige.moderation.verdict import Evidence, Verdict

__all__ = [
    "AGENT",
    "BUYER",
    "CATEGORIES",
    "CLAUSES",
    "LABELS",
    "Evidence",
    "ImageScan",
    "ModerationConfig",
    "Moderator",
    "Verdict",
    "policy_role",
]

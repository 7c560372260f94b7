"""The shop robot's answering core (docs/robot.md): knowledge entries, the knowledge file
format, retrieval with a calibrated confidence, and hand-over. Pure: it does no I/O when it
answers (the platform defaults and an embedding model are read when a robot is built).
"""

from __future__ import annotations

from feige.robot.entries import PLACEHOLDERS, AnswerContext, KnowledgeEntry, fill_answer
from feige.robot.retriever import (
    DEFAULT_WEIGHTS,
    FEATURES,
    Answer,
    Candidate,
    Robot,
    RobotConfig,
    Weights,
)

__all__ = [
    "DEFAULT_WEIGHTS",
    "FEATURES",
    "PLACEHOLDERS",
    "Answer",
    "AnswerContext",
    "Candidate",
    "KnowledgeEntry",
    "Robot",
    "RobotConfig",
    "Weights",
    "fill_answer",
]

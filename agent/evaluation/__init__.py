"""Evaluation: action-matching metrics, offline re-scoring of recorded episodes, reports,
and gold data (gold steps written by tools/record_gold.py and the dataset converters)."""

from agent.evaluation.metrics import (
    TAP_DISTANCE,
    TEXT_F1_MIN,
    StepScore,
    aggregate,
    gold_of,
    score_step,
    token_f1,
)
from agent.evaluation.offline import evaluate, find_episodes, observation_of, rescore_episode
from agent.evaluation.report import format_metrics, write_report

__all__ = [
    "TAP_DISTANCE",
    "TEXT_F1_MIN",
    "StepScore",
    "aggregate",
    "evaluate",
    "find_episodes",
    "format_metrics",
    "gold_of",
    "observation_of",
    "rescore_episode",
    "score_step",
    "token_f1",
    "write_report",
]

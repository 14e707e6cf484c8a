"""MiniWoB++ as a live suite: the ``miniwob`` package's pages served locally to the browser
env, episodes seeded and scored by the pages' own JavaScript."""

from envs.miniwob.env import MiniWobEnv
from envs.miniwob.server import MiniWobServer, html_dir, task_names
from envs.miniwob.tasks import OCR_TASKS, MiniWobTask, ocr_instructions

__all__ = [
    "OCR_TASKS",
    "MiniWobEnv",
    "MiniWobServer",
    "MiniWobTask",
    "html_dir",
    "ocr_instructions",
    "task_names",
]

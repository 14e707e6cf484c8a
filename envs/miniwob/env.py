"""MiniWobEnv: the browser env on a locally served MiniWoB++ page.

The task page's own JavaScript keeps the score: ``core.startEpisodeReal()`` (after
``Math.seedrandom(seed)``) generates the problem, and ``core.endEpisode`` sets
``WOB_DONE_GLOBAL`` / ``WOB_RAW_REWARD_GLOBAL`` / ``WOB_REWARD_GLOBAL`` (see the package's
``core/core.js``). We read those globals after every step; once the page says the episode is
done, the step reports ``terminated`` with the reward, so no action runs on the START cover
that MiniWoB++ shows between episodes.
"""

from __future__ import annotations

from typing import Any

from agent.core.actions import Action
from agent.core.env import EnvSpec
from agent.core.errors import ActionFailedError, ConfigError
from agent.core.observation import StepResult
from envs.browser.env import BrowserEnv
from envs.miniwob.server import MiniWobServer

# MiniWoB++'s own geometry: the task is a 160x210 CSS px box at the page's top-left.
TASK_VIEWPORT = (160, 210)
DEFAULT_DSF = 2.0  # 320x420 screenshots: MiniWoB++ text is 10 px, small for OCR at DSF 1
DEFAULT_MAX_TIME_S = 120.0  # the page default (10 s) is shorter than one CPU OCR step

START_JS = """
([seed, mode, maxMs]) => {
  Math.seedrandom(seed);
  if (mode && core.setDataMode) core.setDataMode(mode);
  core.EPISODE_MAX_TIME = maxMs;
  core.startEpisodeReal();
  return true;
}
"""
STATE_JS = """
() => ({
  ready: typeof WOB_TASK_READY === 'undefined' ? true : !!WOB_TASK_READY,
  done: !!WOB_DONE_GLOBAL,
  reward: Number(WOB_REWARD_GLOBAL),
  raw_reward: Number(WOB_RAW_REWARD_GLOBAL),
  reason: WOB_REWARD_REASON === null ? null : String(WOB_REWARD_REASON),
  episode: Number(WOB_EPISODE_ID),
  utterance: core.getUtterance(),
})
"""


class MiniWobEnv(BrowserEnv):
    """A headless Chromium on one MiniWoB++ task page (160x210 CSS px, DSF 2 by default)."""

    name = "miniwob"

    def __init__(
        self,
        task: str = "click-test",
        *,
        viewport: tuple[int, int] = TASK_VIEWPORT,
        dsf: float = DEFAULT_DSF,
        headless: bool = True,
        browser_path: str | None = None,
        max_time_s: float = DEFAULT_MAX_TIME_S,
        action_timeout_s: float = 5.0,
        fast_capture: bool = True,
    ) -> None:
        if max_time_s <= 0:
            raise ConfigError(f"max_time_s must be > 0, got {max_time_s}")
        self.server = MiniWobServer.acquire()
        self.max_time_s = float(max_time_s)
        self.task_name = task
        try:
            super().__init__(
                self.server.task_url(task),
                viewport=viewport,
                dsf=dsf,
                headless=headless,
                browser_path=browser_path,
                action_timeout_s=action_timeout_s,
                fast_capture=fast_capture,
            )
        except BaseException:
            MiniWobServer.release()
            raise

    def spec(self) -> EnvSpec:
        return EnvSpec(self.name, {**self._settings(), "task": self.task_name,
                                   "max_time_s": self.max_time_s})  # fmt: skip

    def task_url(self, name: str) -> str:
        return self.server.task_url(name)

    def start_episode(self, name: str, seed: int, mode: str = "train") -> str:
        """Load the task page fresh, seed it, start the episode; returns the #query text."""
        self.task_name = name
        self.reset(url=self.task_url(name))
        page = self.page
        try:
            page.wait_for_function("() => typeof core !== 'undefined' && !!core.cover_div")
            page.evaluate(START_JS, [seed, mode, int(self.max_time_s * 1000)])
            page.wait_for_function("() => typeof WOB_TASK_READY === 'undefined' || WOB_TASK_READY")
        except Exception as err:
            raise self._translate(err, f"start MiniWoB++ task {name!r}") from err
        state = self.wob_state()
        if not state["utterance"]:
            raise ActionFailedError(f"MiniWoB++ task {name!r} shows no instruction")
        return str(state["utterance"])

    def wob_state(self) -> dict[str, Any]:
        """The page's own episode state: done, reward, raw_reward, reason, utterance."""
        try:
            return dict(self.page.evaluate(STATE_JS))
        except Exception as err:
            raise self._translate(err, "read the MiniWoB++ reward") from err

    def step(self, action: Action) -> StepResult:
        res = super().step(action)
        if res.terminated or res.truncated:
            return res
        try:
            state = self.wob_state()
        except Exception:
            return res  # the next observation reports a dead page
        if state["done"]:
            res.terminated = True
            res.reward = float(state["raw_reward"])
            res.info["miniwob"] = state
        return res

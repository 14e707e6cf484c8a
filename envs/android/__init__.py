"""The Android env over adb: ``AndroidEnv``; ``FakeAdbServer`` is a test fake."""

from envs.android.env import AndroidEnv

__all__ = ["AndroidEnv"]

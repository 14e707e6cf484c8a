"""native-agent: envs."""

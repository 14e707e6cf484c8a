"""native-agent: agent."""

"""native-agent: model."""

"""Recording a person: input events captured from a live env, reduced to our actions, written
as an episode in the same format as ``agent run``."""

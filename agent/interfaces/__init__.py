"""The interfaces researchers plug into: Gymnasium envs (:mod:`.gym`), an MCP server
(:mod:`.mcp`), both built on one gated, recorded :class:`~.session.ActionSession`."""

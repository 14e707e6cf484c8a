"""Hosted computer-use models through their vendors' official SDKs: ``anthropic:MODEL``
(:mod:`.anthropic`), ``openai-cua:MODEL`` (:mod:`.openai_cua`) and ``gemini:MODEL``
(:mod:`.gemini`); what they share is in :mod:`.common`. The SDKs are the ``hosted`` extra
and are imported only when such a model is built."""

"""Model backends: transformers in-process (:mod:`.hf`) and OpenAI-compatible servers
(:mod:`.openai_backend`). Imported lazily by :mod:`model.registry`."""

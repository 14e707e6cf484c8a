"""Fine-tuning at native resolution from recorded episodes (``agent train``)."""

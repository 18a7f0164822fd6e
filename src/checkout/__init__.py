"""The e-commerce checkout built on sagakit: orders (the orchestrator) and its participants."""

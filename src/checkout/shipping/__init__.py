"""The shipping participant (:8003): shipments and their cancellation."""

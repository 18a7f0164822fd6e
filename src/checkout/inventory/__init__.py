"""The inventory participant (:8002): stock levels, reservations and their release."""

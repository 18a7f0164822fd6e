"""The order service (:8000): takes orders and orchestrates the checkout saga."""

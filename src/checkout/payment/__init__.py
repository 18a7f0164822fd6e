"""The payment participant (:8001): charges and refunds."""

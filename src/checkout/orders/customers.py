"""Who may list whose orders.

There are no customer accounts here, so a customer proves who they are with the token
``POST /orders`` hands back in its ``Customer-Token`` header: an HMAC of the customer id
under the admin token. Knowing (or guessing) a customer id is therefore not enough to
list that customer's orders; an order's own random UUID still opens that one order.
"""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr
from starlette.requests import Request

from checkout.common.auth import presented_token

CUSTOMER_TOKEN_HEADER = "Customer-Token"


def customer_token(secret: SecretStr, customer_id: str) -> str:
    message = f"customer:{customer_id}".encode()
    return hmac.new(secret.get_secret_value().encode(), message, hashlib.sha256).hexdigest()


def is_customer(request: Request, secret: SecretStr, customer_id: str) -> bool:
    presented = presented_token(request)
    if presented is None:
        return False
    return hmac.compare_digest(presented.encode(), customer_token(secret, customer_id).encode())

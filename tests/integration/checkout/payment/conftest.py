from __future__ import annotations

import pytest

from checkout.payment.app import create_app
from checkout.payment.settings import PaymentSettings
from tests.integration.checkout.conftest import Serve, Service


@pytest.fixture
async def payment(serve: Serve) -> Service:
    return await serve("payment", create_app, PaymentSettings)

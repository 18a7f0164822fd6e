from __future__ import annotations

import pytest

from checkout.shipping.app import create_app
from checkout.shipping.settings import ShippingSettings
from tests.integration.checkout.conftest import Serve, Service


@pytest.fixture
async def shipping(serve: Serve) -> Service:
    return await serve("shipping", create_app, ShippingSettings)

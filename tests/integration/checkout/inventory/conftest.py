from __future__ import annotations

import pytest

from checkout.inventory.app import create_app
from checkout.inventory.settings import InventorySettings
from tests.integration.checkout.conftest import Serve, Service


@pytest.fixture
async def inventory(serve: Serve) -> Service:
    return await serve("inventory", create_app, InventorySettings)

"""The operator's dashboard, served by the order service at ``/dashboard``.

The HTML pages are public shells holding no data: their scripts read everything from
the admin API with the admin token the operator types in (kept in the tab's
``sessionStorage``), so the dashboard shows nothing the admin API would not.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from checkout.dashboard.routes import pages, pictures

STATIC = Path(__file__).parent / "static"


def install_dashboard(app: FastAPI) -> None:
    app.include_router(pages)
    app.include_router(pictures)
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")


__all__ = ["install_dashboard"]

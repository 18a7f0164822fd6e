"""``checkout bench --soak``: one configuration for a long time, retention on."""

from checkout.bench.soak.config import SoakConfig, check_services_accept
from checkout.bench.soak.run import SoakResult, run_soak

__all__ = ["SoakConfig", "SoakResult", "check_services_accept", "run_soak"]

"""What the checkout tells operators: Prometheus metrics, structured logs, trace context.

Every service calls :func:`install_observability` from its app factory; the order
service also passes :class:`SagaMetrics` to its saga engine as the observer.
"""

from checkout.observability.install import install_observability
from checkout.observability.metrics import SagaMetrics
from checkout.observability.tracing import current_traceparent

__all__ = ["SagaMetrics", "current_traceparent", "install_observability"]

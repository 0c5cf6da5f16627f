"""Prometheus metrics of the event machinery (exposed on each service's /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DELIVERIES_PENDING = Gauge(
    "events_deliveries_pending", "Deliveries waiting for a (re)try", ["service", "subscriber"]
)
DELIVERIES_DEAD = Gauge(
    "events_deliveries_dead", "Deliveries parked as dead after the last try", ["service", "subscriber"]
)
DELIVERY_ATTEMPTS = Counter(
    "events_delivery_attempts_total",
    "Delivery attempts by outcome (delivered, retry, dead)",
    ["service", "subscriber", "outcome"],
)
DELIVERY_LATENCY = Histogram(
    "events_delivery_latency_seconds",
    "From the event's creation to its successful delivery",
    ["service", "subscriber"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 86400),
)
EVENTS_RECEIVED = Counter(
    "events_received_total",
    "Events received on POST /events by outcome (processed, duplicate, ignored, rejected, failed)",
    ["service", "outcome"],
)
HANDLED_LATENCY = Histogram(
    "events_handled_latency_seconds",
    "From the event's creation at the producer to its handler's commit here",
    ["service"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200, 86400),
)

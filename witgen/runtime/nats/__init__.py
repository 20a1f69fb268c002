"""wRPC over NATS: `NatsBus` (the `Bus` protocol on nats-py) and the serve entry point.

Needs the `nats` extra (`pip install 'witgen[nats]'`, which brings nats-py).
"""

from __future__ import annotations

try:
    import nats as _nats  # noqa: F401
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError(
        "witgen.runtime.nats needs nats-py: pip install 'witgen[nats]'"
    ) from None

from witgen.runtime.nats.bus import DEFAULT_TIMEOUT, NatsBus, NatsServing
from witgen.runtime.nats.subjects import RR, WRPC, invocation_subject, queue_group

__all__ = [
    "DEFAULT_TIMEOUT",
    "NatsBus",
    "NatsServing",
    "RR",
    "WRPC",
    "invocation_subject",
    "queue_group",
]

"""One wRPC engine above several transports.

    transport.py   the seam: paths, byte sources and sinks, an invocation's two ends
    routes.py      subject tails -> the dispatch table and operation serving them
    errors.py      error kinds on the wire <-> `BusError` classes
    workers.py     who runs a provider method: admission, worker threads, deadlines
    engine.py      `call` (client) and `Server` (serving side): the exchange, written once

The engine speaks in paths (a tuple of indices, `()` the root value) so that async values
(streams, futures) can travel on nested paths; today every value travels on the root.
"""

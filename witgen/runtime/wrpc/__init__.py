"""One wRPC engine above several transports.

    transport.py   the seam: paths, byte sources and sinks, an invocation's two ends
    routes.py      subject tails -> the dispatch table and operation serving them
    errors.py      error kinds on the wire <-> `BusError` classes
    workers.py     who runs a provider method: admission, worker threads, deadlines
    engine.py      `call` (client) and `Server` (serving side): the exchange, written once
    deferred.py    futures and streams while a call runs: producers pumped, readers fed
    loopback.py    an in-memory transport (the in-process bus's calls with async values)
    client.py      what generated clients call for functions with futures or streams

The engine speaks in paths (a tuple of indices, `()` the root value): futures and streams
travel on nested paths while the call runs.
"""

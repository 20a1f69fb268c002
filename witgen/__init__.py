"""witgen: typed Python bindings, provider stubs, dispatch tables and bus shims from WIT."""

__version__ = "0.1.0"

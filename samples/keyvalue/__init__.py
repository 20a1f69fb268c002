"""An in-memory `wasi:keyvalue/store@0.2.0-draft2` provider."""

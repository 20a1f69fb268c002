"""The `wrpc-examples:streams/handler` server: two streams in, the same two back."""

"""`ollama:llm`: an LLM capability provider (built-in or backed by an Ollama server) and its caller."""

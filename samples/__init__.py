"""witgen's samples: the proof of concept's stateful actor and the Ollama provider.

Run both on the in-process bus with `python -m samples.demo`.
"""

"""kvtui: see how an LLM serving engine manages its KV cache."""

__version__ = "0.1.0"

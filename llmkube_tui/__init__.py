"""llmkube-tui: a persistent model cache for LLM serving on Kubernetes."""

__version__ = "0.1.0"

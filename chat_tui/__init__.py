"""chat-tui: a full-screen terminal chat client for OpenAI-compatible servers."""

__version__ = "0.1.0"

"""Integration tests against llama.cpp's OpenAI-compatible server, a server we did not write."""

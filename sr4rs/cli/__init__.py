"""Command-line interface: ``sr4rs <command>``; each command module only parses,
calls the library and turns its errors into a one-line message and an exit code."""
from .main import main

__all__ = ["main"]

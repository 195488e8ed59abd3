"""The one exception for bad input to the contract tools (exit status 2)."""

from __future__ import annotations


class ContractError(Exception):
    """Bad input: an unreadable or invalid schema, an unresolvable ``$ref``, a
    missing directory, an unloadable candidate. The message is one line."""

"""Errors of the local ``hashicorp/archive`` stand-in (messages are shown to the Terraform user)."""

from __future__ import annotations


class ArchiveError(Exception):
    """The archive cannot be built from the given arguments (user-facing message)."""


class BadPatternError(ArchiveError):
    """An ``excludes`` pattern is malformed."""

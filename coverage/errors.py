"""Exceptions for problems in what the user supplied.

Every message names the file, row and column where it can, the value found (``!r``) and what
would be accepted, so the command line can print it as one line and exit 2.
"""

from __future__ import annotations


class CarecircleError(Exception):
    """The root of every error carecircle raises on purpose; catch it to catch them all."""


class InputError(CarecircleError, ValueError):
    """A user file, column, value or option is missing or wrong."""


class MissingColumnError(InputError):
    """A file or frame lacks a column a field needs (or a mapping names a column not there).

    The message names the file or frame, the field and the headers accepted for it, and the
    columns found.
    """


class PolicyError(InputError):
    """A policy profile is malformed: unknown key, wrong type, out-of-range value."""


class NetworkError(InputError):
    """The walking network cannot be read or built, or has no usable ways."""

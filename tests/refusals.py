"""The tests' one check of a refusal: a user error raised as an InputError, in one line."""

from __future__ import annotations

from typing import Any

import pytest

from carecircle.errors import InputError


def refusal(func: Any, *args: Any, **kwargs: Any) -> str:
    """Call ``func``; it must raise an :class:`InputError` of one line, which is returned."""
    with pytest.raises(InputError) as info:
        func(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message

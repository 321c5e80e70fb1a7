"""Checks of the arrays given to the siting models: the coverage matrix, weights, flags, options.

Every failure is an :class:`~carecircle.errors.InputError` with a one-line message naming the
argument, the position and the value found.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from .._validate import as_number
from ..errors import InputError


def as_cover(cover: Any, name: str = "cover") -> sp.csr_array:
    """A canonical boolean CSR copy of a coverage matrix (sorted indices, no stored zeros)."""
    if sp.issparse(cover):
        matrix = sp.csr_array(cover, copy=True)
    else:
        array = np.asarray(cover)
        if array.ndim != 2:
            msg = (
                f"{name} has {array.ndim} dimension(s) (shape {array.shape}); expected a 2-D "
                "matrix, demand points × sites"
            )
            raise InputError(msg)
        matrix = sp.csr_array(array)
    if matrix.ndim != 2:
        msg = f"{name} has shape {matrix.shape}; expected a 2-D matrix, demand points × sites"
        raise InputError(msg)
    matrix.sum_duplicates()
    data = matrix.data
    if data.dtype != np.bool_:
        if not np.issubdtype(data.dtype, np.number):
            msg = f"{name} holds {data.dtype} values; expected booleans (True/False or 0/1)"
            raise InputError(msg)
        bad = np.flatnonzero(~np.isin(data, (0, 1)))
        if bad.size:
            rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
            at = bad[0]
            msg = (
                f"{name}[{rows[at]}, {matrix.indices[at]}] is {data[at].item()!r}; expected "
                "booleans (True/False or 0/1): True where the site reaches the point in time"
            )
            raise InputError(msg)
    matrix = matrix.astype(np.bool_)
    matrix.eliminate_zeros()
    matrix.sort_indices()
    return matrix


def as_values(values: Any, n: int, name: str, what: str, *, allow_inf: bool = False) -> np.ndarray:
    """A float64 copy of one non-negative number per row or column, checked."""
    array = np.asarray(values)
    if array.shape != (n,):
        msg = f"{name} has shape {array.shape}; expected ({n},), one value per {what}"
        raise InputError(msg)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.number):
        msg = f"{name} holds {array.dtype} values; expected numbers"
        raise InputError(msg)
    array = array.astype(np.float64)
    bad = np.isnan(array) | (array < 0) | (np.isinf(array) & (not allow_inf))
    if bad.any():
        at = int(np.flatnonzero(bad)[0])
        expected = "a number ≥ 0 (inf for unlimited)" if allow_inf else "a finite number ≥ 0"
        msg = (
            f"{name}[{at}] ({what} {at}) is {float(array[at])!r}; expected {expected}"
            f"{f' ({int(bad.sum())} bad values in all)' if bad.sum() > 1 else ''}"
        )
        raise InputError(msg)
    return array


def as_mask(covered: Any, n: int, name: str = "covered") -> np.ndarray:
    """A boolean copy of the already-covered flags, all False when None."""
    if covered is None:
        return np.zeros(n, dtype=np.bool_)
    array = np.asarray(covered)
    if array.shape != (n,):
        msg = f"{name} has shape {array.shape}; expected ({n},), one flag per demand point"
        raise InputError(msg)
    if array.dtype != np.bool_ and (
        not np.issubdtype(array.dtype, np.number) or not np.isin(array, (0, 1)).all()
    ):
        msg = f"{name} holds {array.dtype} values; expected booleans (True/False or 0/1)"
        raise InputError(msg)
    return array.astype(np.bool_)


def as_count(k: Any, name: str = "k") -> int:
    """A whole number ≥ 0 (Python or NumPy integer; bool is refused)."""
    if isinstance(k, bool | np.bool_) or not isinstance(k, int | np.integer) or k < 0:
        msg = f"{name} is {k!r}; expected a whole number of sites ≥ 0"
        raise InputError(msg)
    return int(k)


def solver_options(
    time_limit_s: Any, mip_rel_gap: Any, max_variables: Any
) -> tuple[float, float, int]:
    limit = as_number(time_limit_s, "time_limit_s", "a number of seconds > 0", positive=True)
    gap = as_number(mip_rel_gap, "mip_rel_gap", "a relative gap from 0 (exact) to below 1")
    if gap >= 1:
        msg = f"mip_rel_gap is {mip_rel_gap!r}; expected a relative gap from 0 (exact) to below 1"
        raise InputError(msg)
    if (
        isinstance(max_variables, bool | np.bool_)
        or not isinstance(max_variables, int | np.integer)
        or max_variables < 1
    ):
        msg = f"max_variables is {max_variables!r}; expected a whole number ≥ 1"
        raise InputError(msg)
    return limit, gap, int(max_variables)

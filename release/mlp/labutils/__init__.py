"""Helper code for the MLP Lab notebooks (provided to students).

Everything here is ordinary, readable Python: gradient checking utilities
(:mod:`labutils.gradcheck`), small plotting helpers (:mod:`labutils.plotting`)
and a switch for quick runs (:func:`quick_mode`).
"""

from __future__ import annotations

import os

from labutils.gradcheck import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    grad_check_sparse,
    rel_error,
)
from labutils.i18n import install as _install_translated_messages

__all__ = [
    "quick_mode",
    "rel_error",
    "eval_numerical_gradient",
    "eval_numerical_gradient_array",
    "grad_check_sparse",
]


def quick_mode() -> bool:
    """True when the environment variable ``MLPLAB_QUICK`` is ``"1"``.

    Autograding and continuous integration set it so that the experiments in
    the notebooks shrink (fewer samples, fewer epochs) and finish in seconds.
    """
    return os.environ.get("MLPLAB_QUICK", "") == "1"


_install_translated_messages()  # a no-op in the English edition (no labutils/messages.json)

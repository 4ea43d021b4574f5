"""The progress bar ``deepstep train`` shows on stderr: :class:`deepstep.callbacks.ProgressBar`.

The same callback as ``DeepNetwork(verbose=1)``; the CLI hides it when stderr
is not a terminal (``disable=None``) and clears it when training ends.
"""

from __future__ import annotations

from ..callbacks import ProgressBar

__all__ = ["ProgressBar"]

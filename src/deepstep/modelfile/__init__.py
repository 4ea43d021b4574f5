"""deepstep's model files: the format, the atomic writer and the untrusted reader.

This package stores, checks and reads JSON metadata and arrays; it knows
nothing of :class:`~deepstep.DeepNetwork`. The model turns itself into that
state and back (:meth:`DeepNetwork.get_state`, :meth:`DeepNetwork.from_state`,
implemented in :mod:`deepstep.state`).
"""

from .format import FORMAT_NAME, FORMAT_VERSION
from .reader import read
from .writer import atomic_savez, write

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "atomic_savez", "read", "write"]

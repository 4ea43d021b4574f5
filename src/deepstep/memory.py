"""How much memory there is, and refusing work that needs more before allocating it.

Used where a size comes from outside: the layer sizes a user asks for
(``--layers 100000000000``), the arrays a data file declares (an 8 MB HDF5 file
can declare 745 GiB). The check compares an estimate with the memory
available now (``MemAvailable`` on Linux, else physical memory), so a
request that cannot fit fails with one clear line instead of a MemoryError, a
swap storm or the OOM killer.
"""

from __future__ import annotations

import os


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now, or None when it cannot be told."""
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def format_bytes(n) -> str:
    n = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"


def fits(nbytes) -> bool:
    """Whether ``nbytes`` fits in the memory available now (True when that cannot be told)."""
    avail = available_memory()
    return avail is None or nbytes <= avail


def check_fits(nbytes, what, error_cls, hint=""):
    """Raise ``error_cls`` naming ``what`` when ``nbytes`` exceeds the memory available now."""
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise error_cls(f"{what} needs about {format_bytes(nbytes)} of memory; {format_bytes(avail)} "
                        f"is available.{(' ' + hint) if hint else ''}")

"""The process's memory allocator, set by the programs that run the analysis (the dashboard, the command line,
the benchmarks) when they start; never on import.

By default glibc's malloc maps each block above a threshold (128 KB at first, then the largest block freed, up
to 32 MB) fresh from the system, and hands freed memory at the top of its heap back once more than twice that
threshold is free. A column of a million rows is such a block (1 to 8 MB), and an import or an analysis call
makes and drops dozens of them: each new one is then faulted in again, page by page. On the 2-core VM this project
is built on, that was ~5,500 page faults per import of a million rows (~20 ms of CPU). Kept for reuse, freed
blocks are handed out again without a fault; the memory stays with the process (at most ``KEEP_FREED_BYTES`` of
it free at the top of the heap), as Arrow's own allocator (mimalloc) already keeps the memory of its tables.

So every block is taken from the heap and none is mapped fresh from the system: glibc's mapping threshold cannot
be raised above 32 MB, and a mixed model's design or a cohort's columns at 100,000 patients are larger. A mapped
block is faulted in anew on every call (a cohort selection took 0.6-1.7 s at 100,000 patients, 0.14 s from the
heap).
"""

from __future__ import annotations

import ctypes
import functools

#: free memory kept at the top of the heap before any of it is handed back to the system (glibc M_TRIM_THRESHOLD)
KEEP_FREED_BYTES = 128 << 20
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


@functools.cache  # (once per process: the dashboard's script, which calls it, runs again on every interaction)
def reuse_freed_memory() -> bool:
    """Set glibc's malloc to keep freed memory for reuse (see the module docstring). False where the C library
    has no ``mallopt`` (not glibc) or refuses the settings; nothing changes then."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES) == 1 and mallopt(_M_MMAP_MAX, 0) == 1

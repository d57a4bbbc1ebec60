"""Allocator tuning for the CLI process: keep freed chunk-sized memory for reuse.

Its own module because it is process-wide state (glibc's malloc parameters), not an option
or a step of the pipeline; `eval`, `check` and `compare` call it once before reading.
"""

from __future__ import annotations

import os
import sys

_ALLOCATOR_TUNED = False


def keep_freed_memory() -> None:
    """Let glibc's malloc reuse freed chunk-sized memory instead of unmapping it.

    The engine makes NumPy temporaries of about 1 MB per loss and chunk. By default glibc
    maps such blocks fresh and returns them on free (or trims them off the heap), so every
    temporary page-faults again: Parquet end to end took 0.9–1.3 s instead of 0.6–0.9 s on
    10⁷ rows. Blocks under 32 MiB now come from the heap, and up to 128 MiB of free heap is
    kept; peak memory is unchanged. Only this process (the CLI); the MALLOC_MMAP_THRESHOLD_
    and MALLOC_TRIM_THRESHOLD_ environment variables, when set, win.
    """
    global _ALLOCATOR_TUNED
    if _ALLOCATOR_TUNED or not sys.platform.startswith("linux"):
        return
    _ALLOCATOR_TUNED = True
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") or os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        return
    try:
        import ctypes

        mallopt = ctypes.CDLL(None).mallopt  # glibc's; musl's exists and does nothing
    except (OSError, AttributeError):
        return
    m_trim_threshold, m_mmap_threshold = -1, -3
    mallopt(m_mmap_threshold, 32 << 20)
    mallopt(m_trim_threshold, 128 << 20)


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def single_threaded_blas() -> None:
    """One BLAS thread per worker, for `compare`, before NumPy is first imported.

    The streamed compare evaluates chunks on a worker thread per core, and each chunk's
    moments are a matrix product (rᵀr) that OpenBLAS would spread over every core again:
    the threads then wait on each other, and 3 models × 10⁶ rows took 17 s instead of 2 s
    on a loaded 2-core machine. Variables the user set win; the Python API is left alone.
    """
    if "numpy" in sys.modules:
        return  # too late to matter: BLAS reads these when NumPy loads it
    for name in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(name, "1")

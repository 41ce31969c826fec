"""The C library through ctypes, loaded once and only when first needed.

``ctypes.CDLL(None)`` is the process's own symbol table (glibc is already in it), so no
``ctypes.util.find_library`` (which runs ``ldconfig -p``: ~50 ms of CPU on every command).
"""

from __future__ import annotations

import ctypes
import functools

SYNC_FILE_RANGE_WRITE = 2  # start writeback of the range's dirty pages, do not wait


@functools.cache
def libc() -> ctypes.CDLL:
    """The C library (errno kept for ``ctypes.get_errno``), one object per process: a
    forked monitor finds it made (a fresh CDLL in a fork child is ~0.4 ms of copied
    pages). ``mount`` and ``umount2`` have their argument types set."""
    lib = ctypes.CDLL(None, use_errno=True)
    lib.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                          ctypes.c_char_p]
    lib.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return lib


@functools.cache
def _sync_file_range():
    try:
        fn = libc().sync_file_range
    except AttributeError:  # not Linux glibc
        return None
    fn.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    fn.restype = ctypes.c_int
    return fn


def start_writeback(fd: int, offset: int, nbytes: int) -> None:
    """Ask the kernel to start writing ``nbytes`` at ``offset`` of ``fd`` to disk now,
    without waiting (sync_file_range(2) with SYNC_FILE_RANGE_WRITE), so the fsync before a
    commit has less left to do. A no-op where the call is missing; never raises."""
    fn = _sync_file_range()
    if fn is not None:
        fn(fd, offset, nbytes, SYNC_FILE_RANGE_WRITE)

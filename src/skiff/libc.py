"""The C library: mount(2), umount2(2) and prctl(2) for the run path, and ``libc()`` (a
ctypes.CDLL) for everything else.

Both use the process's own symbol table (``dlopen(NULL)``: glibc is already in it), so no
``ctypes.util.find_library`` (which runs ``ldconfig -p``: ~50 ms of CPU on every command).

:func:`sys_mount`, :func:`sys_umount2` and :func:`set_child_subreaper` are built on the
``_ctypes`` C module alone. The ``ctypes`` package around it (its many C type classes,
struct, the endian structures) is ~2.5 ms of import, paid by every ``skiff run`` for three
calls; :func:`libc` imports it for the other callers.
"""

from __future__ import annotations

import _ctypes

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ctypes

SYNC_FILE_RANGE_WRITE = 2  # start writeback of the range's dirty pages, do not wait


_LIBC = None


def libc() -> ctypes.CDLL:
    """The C library (errno kept for ``ctypes.get_errno``), one object per process: a
    forked monitor finds it made (a fresh CDLL in a fork child is ~0.4 ms of copied
    pages). mount(2) and umount2(2) are :func:`sys_mount` and :func:`sys_umount2`."""
    global _LIBC
    if _LIBC is not None:
        return _LIBC
    import ctypes

    _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


_SFR: list = []  # [sync_file_range or None], once looked up


def _sync_file_range():
    if not _SFR:
        try:
            fn = libc().sync_file_range
        except AttributeError:  # not Linux glibc
            fn = None
        else:
            import ctypes

            fn.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
            fn.restype = ctypes.c_int
        _SFR.append(fn)
    return _SFR[0]


def start_writeback(fd: int, offset: int, nbytes: int) -> None:
    """Ask the kernel to start writing ``nbytes`` at ``offset`` of ``fd`` to disk now,
    without waiting (sync_file_range(2) with SYNC_FILE_RANGE_WRITE), so the fsync before a
    commit has less left to do. A no-op where the call is missing; never raises."""
    fn = _sync_file_range()
    if fn is not None:
        fn(fd, offset, nbytes, SYNC_FILE_RANGE_WRITE)


class _Int(_ctypes._SimpleCData):
    _type_ = "i"


class _ULong(_ctypes._SimpleCData):
    _type_ = "L"


class _CharP(_ctypes._SimpleCData):
    _type_ = "z"  # bytes or None (NULL)


class _Func(_ctypes.CFuncPtr):
    """A C function returning int, errno saved for :func:`_ctypes.get_errno` (what
    ``CDLL(None, use_errno=True)`` makes)."""
    _flags_ = _ctypes.FUNCFLAG_CDECL | _ctypes.FUNCFLAG_USE_ERRNO
    _restype_ = _Int


class _Process:
    """The process's symbol table, as ``_Func((name, dll))`` reads it (``dll._handle``)."""
    _handle = 0


_FUNCS: dict[str, _Func] = {}
_ARGTYPES = {
    "mount": (_CharP, _CharP, _CharP, _ULong, _CharP),
    "umount2": (_CharP, _Int),
    "prctl": (_Int, _ULong, _ULong, _ULong, _ULong),
}


def _func(name: str) -> _Func:
    fn = _FUNCS.get(name)
    if fn is None:
        if not _Process._handle:
            _Process._handle = _ctypes.dlopen(None, 2)  # RTLD_NOW, as ctypes opens
        fn = _Func((name, _Process))
        fn.argtypes = _ARGTYPES[name]
        _FUNCS[name] = fn
    return fn


def sys_mount(source: bytes | None, target: bytes, fstype: bytes | None, flags: int,
              data: bytes | None) -> int:
    """mount(2) with MS_* ``flags`` (an unsigned long); ``None`` passes NULL. Returns 0 or
    the errno; never raises for the kernel's refusal."""
    if _func("mount")(source, target, fstype, flags, data) != 0:
        return _ctypes.get_errno()
    return 0


def sys_umount2(target: bytes, flags: int = 0) -> int:
    """umount2(2) (``flags``: MNT_DETACH=2, ...). Returns 0 or the errno."""
    if _func("umount2")(target, flags) != 0:
        return _ctypes.get_errno()
    return 0


def set_child_subreaper() -> None:
    """prctl(PR_SET_CHILD_SUBREAPER, 1): orphaned descendants are reparented to this process
    (the monitor reaps the container's init, whose parent runc exits first)."""
    _func("prctl")(36, 1, 0, 0, 0)

"""Why a write to the home directory failed: a full or read-only file system, said plainly.

>>> storage_hint(Path("/home/tbt/tbtwatch.sqlite3"))            # doctest: +SKIP
'磁盘已满 (disk full: 12 KiB free on the file system of /home/tbt). Fix: free space, then run the command again.'
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

#: Below this many free bytes a file system counts as full (SQLite needs room for its journal too).
FULL_BELOW_BYTES = 1 << 20
_STORAGE_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG, errno.EACCES, errno.EPERM, errno.EIO}
_SQLITE_STORAGE = (
    "disk is full",
    "readonly database",
    "disk i/o error",
    "unable to open database",
    "read-only",
)


def is_storage_error(exc: BaseException) -> bool:
    """True for an error that a full, read-only or unwritable file system explains."""
    if isinstance(exc, OSError):
        return exc.errno in _STORAGE_ERRNOS
    if isinstance(exc, sqlite3.Error):
        return any(s in str(exc).lower() for s in _SQLITE_STORAGE)
    cause = exc.__cause__
    return cause is not None and is_storage_error(cause)


def storage_hint(path: Path) -> str:
    """What is wrong with the file system holding ``path`` (and the fix), or "" when nothing is seen."""
    folder = path if path.is_dir() else path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        st = os.statvfs(folder)
    except OSError:
        return ""
    if st.f_flag & os.ST_RDONLY:
        return (
            f"文件系统只读 (read-only file system holding {folder}). "
            "Fix: make it writable (remount read-write), then run the command again."
        )
    free = st.f_bavail * st.f_frsize
    if free < FULL_BELOW_BYTES:
        return (
            f"磁盘已满 (disk full: {free // 1024} KiB free on the file system of {folder}). "
            "Fix: free space, then run the command again."
        )
    if not os.access(folder, os.W_OK):
        return f"目录不可写 (no write permission on {folder}). Fix: let this user write there."
    return ""

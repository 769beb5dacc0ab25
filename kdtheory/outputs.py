"""Writing output files so that nothing is lost: every file kdtheory writes (``audit --json``,
``latex -o``, the report's ``report.tex``, figures and ``report.pdf``) goes through this module.

A regular file is written to a temporary file in the same folder and renamed into place with
:func:`os.replace` (atomic on POSIX), what editors and databases do.  So a reader never sees
partial content, and a full disk, an I/O error or Ctrl-C leaves the previous file exactly as it
was; the temporary file is removed on any failure, ``KeyboardInterrupt`` included.

A target that exists and is not a regular file (``/dev/stdout``, a named pipe, ``/dev/full``)
cannot be replaced by a rename; it is written directly (renaming over a device node would
destroy it).

Failures are raised as :class:`OutputError`, an :class:`OSError` whose message is one line
naming the path, so the command line can report them without a traceback.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "OutputError",
    "atomic_path",
    "atomic_write_text",
    "atomic_write_bytes",
    "move_into_place",
    "output_file_problem",
    "output_dir_problem",
]


class OutputError(OSError):
    """An output file could not be written; ``str(exc)`` is one line naming ``path``."""

    def __init__(self, path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"cannot write {path}: {reason}")

    def __str__(self) -> str:
        return f"cannot write {self.path}: {self.reason}"

    @classmethod
    def from_oserror(cls, path, exc: OSError) -> OutputError:
        if isinstance(exc, OutputError):
            return exc
        reason = exc.strerror or str(exc) or type(exc).__name__
        return cls(path, " ".join(str(reason).split()))


def _is_special(path: Path) -> bool:
    """``path`` exists and is neither a regular file nor a directory (a device, a pipe)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _default_mode() -> int:
    """``0o666`` minus the umask: the mode :func:`open` would give a new file."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextmanager
def atomic_path(path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder (same suffix, so tools that infer the format
    from the name, like matplotlib's ``savefig``, still work); when the block ends normally,
    rename it to ``path``.  On any exception, ``KeyboardInterrupt`` included, the temporary file
    is removed and ``path`` is untouched; an :class:`OSError` is re-raised as
    :class:`OutputError`.  The file gets the mode of the file it replaces (else ``0o666`` minus
    the umask, as :func:`open` would).  A special target (see the module docstring) is yielded
    as is, to be written directly."""
    path = Path(path)
    if _is_special(path):
        try:
            yield path
        except OSError as exc:
            raise OutputError.from_oserror(path, exc) from exc
        return
    folder = path.parent
    try:
        fd, name = tempfile.mkstemp(
            dir=folder, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}"
        )
    except OSError as exc:
        raise OutputError.from_oserror(path, exc) from exc
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        try:
            mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else _default_mode()
        except OSError:
            mode = _default_mode()
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise OutputError.from_oserror(path, exc) from exc
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    try:
        tmp.unlink()
    except FileNotFoundError:
        pass


def atomic_write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`); flushed and fsync'ed
    before the rename, so a crash leaves either the old or the new file.  Returns ``path``."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            if not _is_special(tmp):
                os.fsync(fh.fileno())
    return Path(path)


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode(encoding))


def move_into_place(src, dst) -> Path:
    """Move the finished file ``src`` (e.g. a PDF in a private temporary directory, possibly on
    another file system) to ``dst`` atomically: copy it to a temporary file next to ``dst``,
    then rename.  ``src`` is left for its owner to delete.  Returns ``dst``."""
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
    return Path(dst)


def output_dir_problem(folder, create: bool = False) -> str | None:
    """Why files cannot be written into ``folder``, or ``None`` when it looks fine: it must be a
    writable directory (with ``create``, a missing one must have a writable directory as its
    nearest existing ancestor).  Checked up front so that a bad path fails before a long run;
    nothing is created.  Writing can still fail later (a full disk), which
    :func:`atomic_path` reports."""
    folder = Path(folder) if str(folder) else Path(".")
    probe = folder
    if create:
        while not probe.exists() and not probe.is_symlink() and probe != probe.parent:
            probe = probe.parent
    if not probe.exists():
        return f"{folder}: no such directory"
    if not probe.is_dir():
        return f"{probe} is not a directory"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{probe} is not writable"
    return None


def output_file_problem(path) -> str | None:
    """Why ``path`` cannot be written as an output file, or ``None``: it must not be a
    directory, and its folder must exist and be writable (a special file such as
    ``/dev/stdout`` is written directly and needs no folder).  Nothing is created or
    truncated."""
    path = Path(path)
    if path.is_dir():
        return f"{path} is a directory"
    if _is_special(path):
        return None
    return output_dir_problem(path.parent)

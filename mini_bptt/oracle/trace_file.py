"""Files in and out: a trace read within the limits, and outputs that appear whole or not at all.

``read_trace_text`` reads a regular file (or standard input, ``"-"``) and nothing else: a
FIFO would block in ``open``, a device such as ``/dev/zero`` never ends, so their kind is
checked with ``os.stat`` before anything is opened, and the bytes read are capped by the
``input_bytes`` resource limit.

``atomic_path`` and ``staged_folder`` write outputs beside their targets and move them into
place with ``os.replace`` only when the writing is complete: a reader, or a run that
is interrupted (``KeyboardInterrupt`` included), sees the previous files or the new
ones, never a mixture or a half-written file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from mini_bptt.common.arguments import shown
from mini_bptt.common.resources import ENVIRONMENT, ResourceLimitError, current, shown_bytes

_CHUNK = 1 << 20

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_trace_text(path: str) -> str:
    """The text of the trace file ``path`` (UTF-8), or of standard input for ``"-"``.

    Parameters
    ----------
    path : str
        A regular file, or ``"-"`` for standard input.

    Returns
    -------
    str
        The file's text (a leading byte order mark dropped).

    Raises
    ------
    ValueError
        If ``path`` is a directory, FIFO, device or socket (refused before it is
        opened), is not UTF-8, or holds more bytes than the ``input_bytes`` limit
        (``ResourceLimitError``, a ``ValueError``).
    OSError
        If it cannot be opened or read (its message names the path).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "trace.json")
    >>> with open(path, "w", encoding="utf-8") as handle:
    ...     _ = handle.write('{"steps": 1}')
    >>> read_trace_text(path)
    '{"steps": 1}'
    >>> read_trace_text(os.path.dirname(path))
    Traceback (most recent call last):
    ...
    ValueError: trace '...' is a directory; ... a regular file, or - for standard input
    """
    if not isinstance(path, str):
        raise TypeError(f"trace path must be a str, got {shown(path)}")
    limit = current().input_bytes
    if path == "-":
        return _decoded("standard input", _read_standard_input(limit))
    name = shown_path(path)
    if "\0" in path:
        raise ValueError(f"trace {name} holds a NUL character, which no file path can")
    try:
        status = os.stat(path)
        _require_regular(f"trace {name}", status.st_mode)
        if status.st_size > limit:  # refused without reading a byte
            _refuse_size(f"trace {name}", limit)
        # O_NONBLOCK: should the path become a FIFO after the check, open still returns
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise OSError(f"cannot read trace {name}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        try:
            _require_regular(f"trace {name}", os.fstat(fd).st_mode)
            data = _read_at_most(handle.read, f"trace {name}", limit)
        except OSError as exc:
            raise OSError(f"cannot read trace {name}: {exc.strerror or exc}") from None
    return _decoded(f"trace {name}", data)


def _read_standard_input(limit: int) -> bytearray:
    """Standard input, which may be a pipe or a terminal, but not a directory or a device
    that never ends (``- < /dev/zero``)."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:
        raise OSError("cannot read standard input: it is closed or not a byte stream")
    try:
        mode = os.fstat(stream.fileno()).st_mode
        if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stream.isatty()):
            _require_regular("standard input", mode)
            if os.fstat(stream.fileno()).st_size > limit:  # refused without reading a byte
                _refuse_size("standard input", limit)
        return _read_at_most(stream.read, "standard input", limit)
    except OSError as exc:
        raise OSError(f"cannot read standard input: {exc.strerror or exc}") from None


def shown_path(path: str | os.PathLike) -> str:
    """``repr(path)`` for a message: whole up to 200 characters (a path is what the user
    must recognise), cut short beyond."""
    text = repr(os.fspath(path))
    return text if len(text) <= 200 else text[:197] + "..."


def _require_regular(what: str, mode: int) -> None:
    kind = next((kind for test, kind in _KINDS if test(mode)), "not a regular file")
    if not stat.S_ISREG(mode):
        raise ValueError(
            f"{what} is {kind}; mini-bptt check reads a regular file, or - for standard input"
        )


def _read_at_most(read, what: str, limit: int) -> bytearray:
    """At most ``limit`` bytes from ``read``; one byte more is proof of a larger input."""
    data = bytearray()
    while len(data) <= limit:
        chunk = read(min(_CHUNK, limit + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    if len(data) > limit:
        _refuse_size(what, limit)
    return data  # not copied to bytes: a trace near the limit is held once


def _refuse_size(what: str, limit: int) -> None:
    exactly = f" ({limit} bytes)" if limit >= 1024 else ""
    raise ResourceLimitError(
        f"{what} holds more than {shown_bytes(limit)}{exactly}, the input_bytes limit; "
        "raise it with mini_bptt.resource_limits(input_bytes=...) or "
        f"{ENVIRONMENT['input_bytes']}"
    )


def _decoded(what: str, data: bytearray) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"{what} is not UTF-8 text (byte {exc.start} is {data[exc.start]:#04x})"
        ) from None


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A fresh file beside ``path`` to write instead of it, moved onto ``path`` when the
    block ends normally and removed when it raises.

    The file is created on entry, in the target's folder (so ``os.replace`` stays on one
    filesystem) with the target's suffix (so writers that choose a format by it still
    do): a missing folder or one without write permission fails before any work.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.

    Returns
    -------
    context manager
        Yields the temporary path to write.

    Raises
    ------
    OSError
        If ``path`` is a directory or its folder cannot hold a new file.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "out.txt")
    >>> with atomic_path(path) as partial:
    ...     _ = partial.write_text("done")
    >>> open(path).read(), os.listdir(os.path.dirname(path))
    ('done', ['out.txt'])
    """
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(f"{str(target)!r} is a directory")
    while True:
        partial = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.partial{target.suffix}")
        try:  # 0o666 and the umask, as open() would give the target itself
            os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        yield partial
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(partial)


@contextlib.contextmanager
def staged_folder(out: str | os.PathLike, last: str | None = None) -> Iterator[Path]:
    """An empty folder to write a set of files into; when the block ends normally they
    replace their namesakes in ``out`` (``last`` after all the others), and the folder
    is removed however the block ends.

    The folder is a hidden one inside ``out``: the same filesystem as the files it
    replaces, and no permission needed beyond ``out``'s own. If moving the files in
    fails or is interrupted part-way, the files already moved are put back, so ``out``
    holds either every new file or only its previous ones.

    Parameters
    ----------
    out : str or os.PathLike
        The folder the files belong in (created if missing).
    last : str, optional
        The name of the file to move in last (an index of the others, for example).

    Returns
    -------
    context manager
        Yields the staging folder.

    Raises
    ------
    OSError
        If ``out`` cannot be created or written.

    Examples
    --------
    >>> import os, tempfile
    >>> out = os.path.join(tempfile.mkdtemp(), "results")
    >>> with staged_folder(out, last="index.md") as stage:
    ...     _ = (stage / "a.csv").write_text("1")
    ...     _ = (stage / "index.md").write_text("a.csv")
    >>> sorted(os.listdir(out))
    ['a.csv', 'index.md']
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=".partial-", dir=out))
    try:
        yield stage
        names = sorted(p.name for p in stage.iterdir())
        if last in names:
            names.remove(last)
            names.append(last)
        _move_in(stage, out, names)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _move_in(stage: Path, out: Path, names: list[str]) -> None:
    """Move ``names`` from ``stage`` onto ``out``, each previous file kept (as a hard link,
    so the target never goes missing) until all are in; put the previous ones back if not."""
    previous = stage / ".previous"
    previous.mkdir()
    done = []
    try:
        for name in names:
            done.append(name)
            if os.path.lexists(out / name):
                try:
                    os.link(out / name, previous / name, follow_symlinks=False)
                except OSError:  # a filesystem without hard links
                    shutil.copy2(out / name, previous / name, follow_symlinks=False)
            os.replace(stage / name, out / name)
    except BaseException:
        for name in reversed(done):  # from what is on disk, wherever the loop stopped
            if os.path.lexists(previous / name):
                os.replace(previous / name, out / name)
            elif not os.path.lexists(stage / name):
                os.unlink(out / name)
        raise

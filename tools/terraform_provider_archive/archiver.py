"""Deterministic zip building for the local ``hashicorp/archive`` stand-in.

Pure standard library, no Terraform or gRPC imports, so it can be unit-tested (and used)
on its own. The behaviour follows the real provider's zip archiver (v2.5+):

* ``source_dir``: the directory is walked like Go's ``filepath.Walk`` (depth first, the
  entries of each directory in byte order), directories themselves get no zip entry, entry
  names are relative to ``source_dir`` with forward slashes. Each path relative to
  ``source_dir`` (``"."`` for the root, ``"sub/file.py"``...) is tested against ``excludes``
  with doublestar glob semantics (``*``, ``?``, ``[...]``, ``{a,b}``, ``**``); a matching
  directory is skipped with everything below it. Symlinked files are stored with the
  target's content and mode; symlinked directories are followed (their files appear under
  the link's path) unless ``exclude_symlink_directories`` is set. An archive that would be
  empty is an error, as in the real provider.
* ``source_file``: one entry named after the file's base name.
* ``source_content`` / ``source`` blocks: entries from strings, like Go's
  ``zip.Writer.Create`` (MS-DOS creator, no mode bits, all-zero DOS timestamp).

File and directory entries carry the timestamp the real provider writes (Go's zero
``time.Time`` in MS-DOS format, which reads back as 2049-01-01 00:00:00), so the bytes
depend only on names, contents and modes: never on mtimes, owners or walk order of the OS.
Modes are the files' own permission bits unless ``output_file_mode`` is given, in which
case every file entry gets exactly that mode. All entries are deflated.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence, Tuple, Union

from tools.terraform_provider_archive.errors import ArchiveError, BadPatternError
from tools.terraform_provider_archive.excludes import ExcludeMatcher

__all__ = [
    "CONTENT_DATE_TIME",
    "FILE_DATE_TIME",
    "ArchiveError",
    "ArchiveResult",
    "BadPatternError",
    "DirEntry",
    "ExcludeMatcher",
    "archive_content",
    "archive_dir",
    "archive_file",
    "archive_multiple",
    "checksums",
    "collect_dir",
    "create_archive",
    "parse_file_mode",
]

#: DOS date/time stored for ``source_dir``/``source_file`` entries. The real provider calls
#: ``SetModTime(time.Time{})``; year 1 wraps around in the 7-bit DOS year field to 2049.
FILE_DATE_TIME: Tuple[int, int, int, int, int, int] = (2049, 1, 1, 0, 0, 0)
#: DOS date/time stored for content entries: all-zero fields, like Go's ``Writer.Create``.
CONTENT_DATE_TIME: Tuple[int, int, int, int, int, int] = (1980, 0, 0, 0, 0, 0)

_CREATOR_UNIX = 3
_CREATOR_FAT = 0
_MSDOS_READONLY = 0x01


# --------------------------------------------------------------------------------------
# modes
# --------------------------------------------------------------------------------------


def parse_file_mode(text: str) -> int:
    """Parse ``output_file_mode`` like Go's ``strconv.ParseUint(s, 0, 32)``.

    ``"0666"`` and ``"0o666"`` are octal, ``"0x1b6"`` hex, ``"0b..."`` binary, other digit
    strings decimal; underscores as in Go integer literals. Only the permission bits
    (``0o777``) end up in the archive, as with Go's ``os.FileMode``.
    """
    if not text or not text.isascii() or not text[0].isdigit() or text != text.strip():
        raise ArchiveError(f"error parsing output_file_mode value: {text!r}")
    try:
        if len(text) > 1 and text[0] == "0" and (text[1].isdigit() or text[1] == "_"):
            value = int("0o" + text[1:], 0)  # Go: a leading 0 means octal
        else:
            value = int(text, 0)
    except ValueError:
        raise ArchiveError(f"error parsing output_file_mode value: {text!r}") from None
    if value < 0 or value > 0xFFFFFFFF:
        raise ArchiveError(f"error parsing output_file_mode value: {text!r} (out of range)")
    return value & 0o777


def _unix_external_attr(mode: int) -> int:
    """``external_attr`` for a regular file with the given permission bits (Go SetMode)."""
    attr = (stat.S_IFREG | (mode & 0o7777)) << 16
    if not mode & 0o200:
        attr |= _MSDOS_READONLY
    return attr


# --------------------------------------------------------------------------------------
# directory walk
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DirEntry:
    """One file to store: its archive name, where to read it, and its permission bits."""

    name: str
    path: str
    mode: int
    size: int


def _sorted_names(directory: str) -> list[str]:
    # Go's filepath.Walk sorts names as byte strings
    return sorted(os.listdir(directory), key=os.fsencode)


def collect_dir(
    source_dir: Union[str, os.PathLike[str]],
    excludes: Iterable[str] = (),
    exclude_symlink_directories: bool = False,
) -> list[DirEntry]:
    """List the files ``archive_dir`` would store, in archive order.

    Raises :class:`ArchiveError` for a missing source, a file given as directory, a broken
    symlink, a symlink cycle, special files, or when nothing would be archived.
    """
    root = os.fspath(source_dir)
    try:
        root_info = os.stat(root)
    except FileNotFoundError:
        raise ArchiveError(f"could not archive missing directory: {root}") from None
    if not stat.S_ISDIR(root_info.st_mode):
        raise ArchiveError(f"could not archive directory that is a file: {root}")
    matcher = ExcludeMatcher(excludes)
    entries: list[DirEntry] = []

    def walk(real_dir: str, archive_prefix: str, active: frozenset[str]) -> None:
        for name in _sorted_names(real_dir):
            path = os.path.join(real_dir, name)
            archive_path = f"{archive_prefix}/{name}" if archive_prefix else name
            if matcher(archive_path):
                continue
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                real_path = os.path.realpath(path)
                try:
                    info = os.stat(real_path)
                except OSError as exc:
                    raise ArchiveError(f"error following symlink {path}: {exc.strerror or exc}") from None
                if stat.S_ISDIR(info.st_mode):
                    if exclude_symlink_directories:
                        continue
                    if real_path in active:
                        raise ArchiveError(f"symlink cycle: {path} points back to {real_path}")
                    walk(real_path, archive_path, active | {real_path})
                    continue
            elif stat.S_ISDIR(info.st_mode):
                walk(path, archive_path, active | {os.path.realpath(path)})
                continue
            if not stat.S_ISREG(info.st_mode):
                raise ArchiveError(f"cannot archive special file: {path}")
            entries.append(DirEntry(archive_path, path, stat.S_IMODE(info.st_mode), info.st_size))

    if not matcher("."):
        walk(root, "", frozenset({os.path.realpath(root)}))
    if not entries:
        raise ArchiveError("archive has not been created as it would be empty")
    return entries


# --------------------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------------------


def _file_info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FILE_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = _CREATOR_UNIX
    info.external_attr = _unix_external_attr(mode)
    return info


def _content_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=CONTENT_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = _CREATOR_FAT
    info.external_attr = 0
    return info


def _open_output(output_path: Union[str, os.PathLike[str]]) -> zipfile.ZipFile:
    # plain open(): like Go's os.Create, mode 0666 minus umask, truncating an existing file
    return zipfile.ZipFile(os.fspath(output_path), "w", compression=zipfile.ZIP_DEFLATED)


def _write_files(
    output_path: Union[str, os.PathLike[str]],
    files: Sequence[DirEntry],
    file_mode: Optional[int],
) -> None:
    with _open_output(output_path) as zf:
        for entry in files:
            info = _file_info(entry.name, entry.mode if file_mode is None else file_mode)
            info.file_size = entry.size
            with open(entry.path, "rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)


def _mode_arg(output_file_mode: Optional[str]) -> Optional[int]:
    return None if output_file_mode in (None, "") else parse_file_mode(output_file_mode)


def archive_dir(
    source_dir: Union[str, os.PathLike[str]],
    output_path: Union[str, os.PathLike[str]],
    excludes: Iterable[str] = (),
    output_file_mode: Optional[str] = None,
    exclude_symlink_directories: bool = False,
) -> list[str]:
    """Zip the files below ``source_dir`` into ``output_path``; returns the entry names."""
    file_mode = _mode_arg(output_file_mode)
    entries = collect_dir(source_dir, excludes, exclude_symlink_directories)
    _write_files(output_path, entries, file_mode)
    return [e.name for e in entries]


def archive_file(
    source_file: Union[str, os.PathLike[str]],
    output_path: Union[str, os.PathLike[str]],
    output_file_mode: Optional[str] = None,
) -> list[str]:
    """Zip one file (stored under its base name) into ``output_path``."""
    file_mode = _mode_arg(output_file_mode)
    path = os.fspath(source_file)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ArchiveError(f"could not archive missing file: {path}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ArchiveError(f"could not archive file that is a directory: {path}")
    if not stat.S_ISREG(info.st_mode):
        raise ArchiveError(f"cannot archive special file: {path}")
    name = os.path.basename(os.path.normpath(path))
    _write_files(output_path, [DirEntry(name, path, stat.S_IMODE(info.st_mode), info.st_size)], file_mode)
    return [name]


def archive_multiple(contents: Mapping[str, Union[str, bytes]], output_path: Union[str, os.PathLike[str]]) -> list[str]:
    """Zip in-memory contents (``filename -> content``), sorted by filename."""
    if not contents:
        raise ArchiveError("archive has not been created as it would be empty")
    names = sorted(contents, key=lambda n: n.encode("utf-8", "surrogateescape"))
    with _open_output(output_path) as zf:
        for name in names:
            data = contents[name]
            info = _content_info(name)
            zf.writestr(info, data.encode("utf-8") if isinstance(data, str) else data)
            # zipfile replaces external_attr 0 by 0o600 (unix ?rw-------); Go's Create
            # leaves it 0 with an MS-DOS creator, which unzip (and AWS Lambda) read as
            # "default permissions". The attribute lives only in the central directory,
            # written at close, so restoring it here is enough.
            info.external_attr = 0
    return names


def archive_content(content: Union[str, bytes], filename: str, output_path: Union[str, os.PathLike[str]]) -> list[str]:
    """Zip a single in-memory content as ``filename``."""
    return archive_multiple({filename: content}, output_path)


@dataclass(frozen=True)
class ArchiveResult:
    """What the data source reports about the archive it wrote."""

    entries: Tuple[str, ...]
    output_size: int
    output_md5: str
    output_sha: str
    output_sha256: str
    output_base64sha256: str
    output_sha512: str
    output_base64sha512: str

    @property
    def id(self) -> str:
        """The real provider uses the SHA1 hex digest of the output as ``id``."""
        return self.output_sha


def checksums(path: Union[str, os.PathLike[str]]) -> dict[str, Union[str, int]]:
    """Size and checksums of a file, keyed like the data source's computed attributes."""
    md5 = hashlib.md5(usedforsecurity=False)
    sha1 = hashlib.sha1(usedforsecurity=False)
    sha256 = hashlib.sha256()
    sha512 = hashlib.sha512()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            size += len(chunk)
            for h in (md5, sha1, sha256, sha512):
                h.update(chunk)
    return {
        "output_size": size,
        "output_md5": md5.hexdigest(),
        "output_sha": sha1.hexdigest(),
        "output_sha256": sha256.hexdigest(),
        "output_base64sha256": base64.b64encode(sha256.digest()).decode("ascii"),
        "output_sha512": sha512.hexdigest(),
        "output_base64sha512": base64.b64encode(sha512.digest()).decode("ascii"),
    }


def create_archive(
    *,
    type: str,
    output_path: Union[str, os.PathLike[str]],
    source_dir: Optional[str] = None,
    source_file: Optional[str] = None,
    source_content: Optional[str] = None,
    source_content_filename: Optional[str] = None,
    source: Optional[Sequence[Mapping[str, Optional[str]]]] = None,
    excludes: Optional[Iterable[str]] = None,
    output_file_mode: Optional[str] = None,
    exclude_symlink_directories: Optional[bool] = None,
) -> ArchiveResult:
    """Everything the ``archive_file`` data source does on read, without Terraform.

    Exactly one source kind must be given: ``source_dir``, ``source_file``,
    ``source_content_filename`` (with ``source_content``) or a non-empty ``source`` list of
    ``{"filename": ..., "content": ...}``. The parent directory of ``output_path`` is created
    when missing.
    """
    if type != "zip":
        raise ArchiveError(f"archive type not supported: {type} (this stand-in supports only zip)")
    given = [
        name
        for name, present in (
            ("source_dir", source_dir is not None),
            ("source_file", source_file is not None),
            (
                "source_content/source_content_filename",
                source_content is not None or source_content_filename is not None,
            ),
            ("source", bool(source)),
        )
        if present
    ]
    if len(given) != 1:
        raise ArchiveError(
            "exactly one of source_dir, source_file, source_content (with "
            f"source_content_filename) or source blocks must be set; got {given or 'none'}"
        )
    if output_file_mode not in (None, ""):
        parse_file_mode(output_file_mode)  # report a bad mode before touching the disk
    out = Path(output_path)
    if str(out.parent) not in ("", "."):
        out.parent.mkdir(parents=True, exist_ok=True)

    if source_dir is not None:
        names = archive_dir(
            source_dir,
            out,
            excludes or (),
            output_file_mode,
            bool(exclude_symlink_directories),
        )
    elif source_file is not None:
        names = archive_file(source_file, out, output_file_mode)
    elif source_content_filename is not None or source_content is not None:
        if source_content_filename is None:
            raise ArchiveError("source_content_filename must be set together with source_content")
        names = archive_content(source_content or "", source_content_filename, out)
    else:
        contents: dict[str, str] = {}
        for block in source or ():
            filename, content = block.get("filename"), block.get("content")
            if filename is None:
                raise ArchiveError("every source block needs a filename")
            if filename in contents and contents[filename] != (content or ""):
                raise ArchiveError(f"two source blocks with different content for {filename!r}")
            contents[filename] = content or ""
        names = archive_multiple(contents, out)

    sums = checksums(out)
    return ArchiveResult(
        entries=tuple(names),
        output_size=int(sums["output_size"]),
        output_md5=str(sums["output_md5"]),
        output_sha=str(sums["output_sha"]),
        output_sha256=str(sums["output_sha256"]),
        output_base64sha256=str(sums["output_base64sha256"]),
        output_sha512=str(sums["output_sha512"]),
        output_base64sha512=str(sums["output_base64sha512"]),
    )

"""Local stand-in for the ``hashicorp/archive`` Terraform provider. TEST TOOLING ONLY.

The real provider binary cannot be downloaded on the machines this project runs on (no
provider registry), so this package serves a compatible provider written in Python with
the ``tf`` framework. Terraform installs it from a filesystem mirror like any provider:

    python -m tools.terraform_provider_archive.install --mirror DIR [--python PATH]

writes ``DIR/registry.terraform.io/hashicorp/archive/<version>/<os>_<arch>/
terraform-provider-archive_v<version>``, a shell wrapper that runs
``python -m tools.terraform_provider_archive`` with this repository on ``PYTHONPATH``.
The default version is :data:`DEFAULT_VERSION` (``2.7.1``); Terraform needs a
``provider_installation { filesystem_mirror { path = "DIR" ... } }`` CLI configuration.

Implemented (schema compatible with hashicorp/archive 2.7.x):

* data source ``archive_file`` with ``type`` (only ``"zip"``), ``source_dir``,
  ``source_file``, ``source_content`` + ``source_content_filename``, ``source`` blocks
  (``content``/``filename``), ``excludes`` (exact relative paths and doublestar globs such as
  ``*.pyc``, ``**/__pycache__``, ``tests/**``), ``exclude_symlink_directories``,
  ``output_file_mode`` and ``output_path`` (its parent directory is created); computed
  ``id`` (SHA1 hex of the archive), ``output_size``, ``output_md5``, ``output_sha``,
  ``output_sha256``, ``output_base64sha256``, ``output_sha512``, ``output_base64sha512``.
* Deterministic archives: entries in the real provider's walk order (byte-sorted per
  directory), files only, forward-slash names relative to ``source_dir``, fixed timestamps
  (the real provider's 2049-01-01 00:00:00 DOS date), modes from the files or exactly
  ``output_file_mode``, deflate. Nothing is excluded unless ``excludes`` says so.
* Configuration errors as diagnostics: unsupported ``type``, zero or several sources,
  ``source_content`` without ``source_content_filename``, ``excludes`` with a non-directory
  source, malformed glob patterns or ``output_file_mode``.

Not implemented / different from the real provider:

* ``type = "tar.gz"``, the ``archive_file`` managed resource, the ephemeral resource and
  provider functions.
* Archives are not byte-identical to the real provider's (Python's zlib instead of Go's
  deflate, no data descriptors), so checksums differ from a real run; they are stable
  across runs and machines with the same zlib.
* ``exclude_symlink_directories = true`` skips only the linked directory (the real provider
  also skips the remaining entries of that directory, a bug); symlink cycles, broken links
  and special files (FIFOs, sockets) are reported as errors instead of hanging or panicking;
  two ``source`` blocks with the same filename but different contents are an error.
* It speaks plugin protocol 6 (the real one speaks 5); Terraform >= 1.0 handles either.
"""

from __future__ import annotations

DEFAULT_VERSION = "2.7.1"

__all__ = ["DEFAULT_VERSION"]

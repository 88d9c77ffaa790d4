"""The ``archive_file`` data source and provider object served over the plugin protocol.

Built on the ``tf`` package (Python Terraform provider framework, plugin protocol 6). See
the package docstring for what this stand-in implements and where it differs from the real
``hashicorp/archive``.
"""

from __future__ import annotations

import importlib
import os
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Optional, Tuple

from tf import runner
from tf.blocks import SetNestedBlock
from tf.iface import Config, DataSource, Provider, ReadDataContext, Resource, State
from tf.schema import Attribute, Block, Schema
from tf.types import Bool, Number, Set, String, Unknown
from tf.utils import Diagnostics

from tools.terraform_provider_archive.archiver import (
    ArchiveError,
    ExcludeMatcher,
    create_archive,
    parse_file_mode,
)

PROVIDER_ADDRESS = "registry.terraform.io/hashicorp/archive"

#: go-plugin handshake shared by Terraform and every provider
MAGIC_COOKIE_KEY = "TF_PLUGIN_MAGIC_COOKIE"
MAGIC_COOKIE_VALUE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"

_ONE_OF = (
    "One (and only one) of `source_dir`, `source_file`, `source_content_filename` "
    "(with `source_content`) or `source` blocks must be specified."
)

_COMPUTED = (
    ("id", "The SHA1 checksum (hex) of the output, like the real provider."),
    ("output_md5", "MD5 of output file"),
    ("output_sha", "SHA1 checksum of output file"),
    ("output_sha256", "SHA256 checksum of output file"),
    ("output_base64sha256", "Base64 Encoded SHA256 checksum of output file"),
    ("output_sha512", "SHA512 checksum of output file"),
    ("output_base64sha512", "Base64 Encoded SHA512 checksum of output file"),
)


def _is_set(value: Any) -> bool:
    """A config value counts as given when not null (unknown counts: it will be known)."""
    if value is None:
        return False
    if isinstance(value, list):
        return len(value) > 0
    return True


def _known(value: Any) -> bool:
    return value is not None and value is not Unknown


class ArchiveFileDataSource(DataSource):  # type: ignore[misc]
    """``data "archive_file"``: writes a zip and reports its size and checksums."""

    def __init__(self, provider: Any = None) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "file"

    @classmethod
    def get_schema(cls) -> Schema:
        return Schema(
            description="Generates an archive from content, a file, or directory of files "
            "(local test stand-in for hashicorp/archive: zip only).",
            attributes=[
                Attribute("type", String(), required=True, description="Archive type: `zip`."),
                Attribute(
                    "source_content",
                    String(),
                    optional=True,
                    description="Add only this content to the archive with "
                    "`source_content_filename` as the filename. " + _ONE_OF,
                ),
                Attribute(
                    "source_content_filename",
                    String(),
                    optional=True,
                    description="Set this as the filename when using `source_content`. " + _ONE_OF,
                ),
                Attribute(
                    "source_file",
                    String(),
                    optional=True,
                    description="Package this file into the archive. " + _ONE_OF,
                ),
                Attribute(
                    "source_dir",
                    String(),
                    optional=True,
                    description="Package entire contents of this directory into the archive. " + _ONE_OF,
                ),
                Attribute(
                    "excludes",
                    Set(String()),
                    optional=True,
                    description="Files/directories (relative to `source_dir`) to leave out. "
                    "Supports glob patterns including doublestar (`**`).",
                ),
                Attribute(
                    "exclude_symlink_directories",
                    Bool(),
                    optional=True,
                    description="Leave symbolically linked directories out of the archive "
                    "(default false: they are followed).",
                ),
                Attribute("output_path", String(), required=True, description="The archive to write."),
                Attribute(
                    "output_file_mode",
                    String(),
                    optional=True,
                    description='Octal mode for every archived file, e.g. `"0666"`.',
                ),
                Attribute(
                    "output_size",
                    Number(),
                    computed=True,
                    description="The byte size of the output archive file.",
                ),
                *(Attribute(name, String(), computed=True, description=text) for name, text in _COMPUTED),
            ],
            block_types=[
                SetNestedBlock(
                    "source",
                    Block(
                        attributes=[
                            Attribute(
                                "content",
                                String(),
                                required=True,
                                description="Add this content to the archive with `filename` as the filename.",
                            ),
                            Attribute(
                                "filename",
                                String(),
                                required=True,
                                description="Set this as the filename when declaring a `source`.",
                            ),
                        ],
                        description="A single file (content and name) to put into the archive. " + _ONE_OF,
                    ),
                )
            ],
        )

    # ------------------------------------------------------------------ validation

    def validate(self, diags: Diagnostics, type_name: str, config: Config) -> None:
        super().validate(diags, type_name, config)
        if diags.has_errors():
            return

        archive_type = config.get("type")
        if _known(archive_type) and archive_type != "zip":
            diags.add_error(
                "Unsupported archive type",
                f'type = "{archive_type}" is not supported by the local stand-in for '
                'hashicorp/archive: only "zip" is implemented.',
                path=["type"],
            )

        sources = [
            name
            for name, present in (
                ("source_dir", _is_set(config.get("source_dir"))),
                ("source_file", _is_set(config.get("source_file"))),
                (
                    "source_content",
                    _is_set(config.get("source_content")) or _is_set(config.get("source_content_filename")),
                ),
                ("source", _is_set(config.get("source"))),
            )
            if present
        ]
        if not sources:
            diags.add_error("Missing archive source", _ONE_OF)
        elif len(sources) > 1:
            diags.add_error(
                "Conflicting archive sources",
                f"{_ONE_OF} This configuration sets {', '.join(sources)}.",
                path=[sources[1]],
            )
        elif sources == ["source_content"] and config.get("source_content_filename") is None:
            diags.add_error(
                "Missing source_content_filename",
                "`source_content` needs `source_content_filename` to name the archive entry.",
                path=["source_content_filename"],
            )

        excludes = config.get("excludes")
        if _is_set(excludes) and (_is_set(config.get("source_file")) or "source_content" in sources):
            diags.add_error(
                "Invalid Attribute Combination",
                "`excludes` only applies to `source_dir`; it cannot be combined with "
                "`source_file` or `source_content`.",
                path=["excludes"],
            )
        if isinstance(excludes, list):
            known = [e for e in excludes if isinstance(e, str)]
            try:
                ExcludeMatcher(known)
            except ArchiveError as exc:
                diags.add_error("Invalid excludes pattern", str(exc), path=["excludes"])

        mode = config.get("output_file_mode")
        if isinstance(mode, str) and mode != "":
            try:
                parse_file_mode(mode)
            except ArchiveError as exc:
                diags.add_error("Invalid output_file_mode", str(exc), path=["output_file_mode"])

    # ------------------------------------------------------------------ read

    def read(self, ctx: ReadDataContext, config: Config) -> Optional[State]:
        diags: Diagnostics = ctx.diagnostics
        try:
            result = create_archive(
                type=config["type"],
                output_path=config["output_path"],
                source_dir=config.get("source_dir"),
                source_file=config.get("source_file"),
                source_content=config.get("source_content"),
                source_content_filename=config.get("source_content_filename"),
                source=config.get("source") or None,
                excludes=config.get("excludes"),
                output_file_mode=config.get("output_file_mode"),
                exclude_symlink_directories=config.get("exclude_symlink_directories"),
            )
        except (ArchiveError, OSError) as exc:
            diags.add_error("Archive creation error", f"error creating archive: {exc}")
            return None

        state: State = dict(config)
        state.update(
            id=result.id,
            output_size=result.output_size,
            output_md5=result.output_md5,
            output_sha=result.output_sha,
            output_sha256=result.output_sha256,
            output_base64sha256=result.output_base64sha256,
            output_sha512=result.output_sha512,
            output_base64sha512=result.output_base64sha512,
        )
        return state


class ArchiveProvider(Provider):  # type: ignore[misc]
    """The provider object: no configuration, one data source."""

    def get_model_prefix(self) -> str:
        return "archive_"

    def full_name(self) -> str:
        return PROVIDER_ADDRESS

    def get_provider_schema(self, diags: Diagnostics) -> Schema:
        return Schema(attributes=[])

    def validate_config(self, diags: Diagnostics, config: Config) -> None:
        return None

    def configure_provider(self, diags: Diagnostics, config: Config) -> None:
        return None

    def get_data_sources(self) -> list[type[DataSource]]:
        return [ArchiveFileDataSource]

    def get_resources(self) -> list[type[Resource]]:
        return []


def _ephemeral_certificate() -> Tuple[bytes, Any]:
    """In-memory ECDSA P-256 TLS certificate for the go-plugin handshake.

    Replaces ``tf.runner._self_signed_cert``, which generates an RSA key and caches it in
    ``~/.cache``: this one writes nothing to disk and takes about a millisecond.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    grpc: Any = importlib.import_module("grpc")  # untyped; already loaded by tf.runner
    credentials = grpc.ssl_server_credentials(
        private_key_certificate_chain_pairs=[(key_pem, cert_pem)], require_client_auth=False
    )
    return cert.public_bytes(serialization.Encoding.DER), credentials


def serve(argv: Optional[list[str]] = None) -> int:
    """Serve the provider to Terraform (go-plugin handshake on stdout, unix socket only)."""
    args = list(sys.argv if argv is None else argv)
    if os.environ.get(MAGIC_COOKIE_KEY) != MAGIC_COOKIE_VALUE and "--dev" not in args:
        sys.stderr.write(
            "This is the local test stand-in for the hashicorp/archive Terraform provider.\n"
            "It is a plugin: Terraform starts it. Install it into a filesystem mirror with\n"
            "  python -m tools.terraform_provider_archive.install --mirror DIR\n"
        )
        return 1
    # tf would cache an RSA key pair under ~/.cache; keep the provider free of side effects
    runner._self_signed_cert = _ephemeral_certificate
    runner.run_provider(ArchiveProvider(), args)
    return 0

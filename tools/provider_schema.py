"""hashicorp/aws schemas offline, and a conformance check of the module's HCL against them.

No aws provider binary newer than 3.39.0 can be had here, so ``terraform providers schema``
cannot describe the releases users run. The prebuilt CDK bindings on PyPI can: each release is
generated from one hashicorp/aws release and ships its jsii type assembly, with a config struct
per resource and data source and one property per argument or nested block (required or
optional). ``install`` downloads the releases pinned in pyproject.toml
``[dependency-groups].schemas`` (no dependencies; only the wheel is read), checks from the
package itself which hashicorp/aws release it was generated from (every registry link in its
docs must name the same version) and writes a compact schema to ``.tools/schemas/``:

    {"provider_version": "5.32.0", "package": "@cdktf/provider-aws@19.1.0",
     "provider": ID, "resources": {"aws_x": ID}, "data_sources": {"aws_y": ID}, "structs": {ID: NODE}}
    NODE = {"attributes": {name: {"required": bool, "deprecated": str|null}},
            "blocks": {name: {"required": bool, "deprecated": str|null, "schema": ID}}}

(nested blocks refer to their struct by id: some schemas share or nest struct types deeply).

``check(directories, schema)`` reads every ``*.tf`` file with python-hcl2 and reports unknown
resource/data-source types, unknown arguments and blocks (also inside ``dynamic`` blocks),
arguments written as blocks or blocks as arguments, missing required arguments and blocks, and
deprecated ones. The bindings do not carry the provider schema's ``deprecated`` flag (checked:
no argument of either pinned release is marked), so ``deprecated`` is filled only where an
assembly marks a property deprecated. Test tooling only.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

import hcl2
import tomllib

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / ".tools/schemas"

_DOCS = r"registry\.terraform\.io/providers/hashicorp/aws/"
_REGISTRY = re.compile(_DOCS + r"(\d+\.\d+\.\d+)/docs/(resources|data-sources)/")
_TYPE_LINK = re.compile(_DOCS + r"[\d.]+/docs/(resources|data-sources)/\S+ (aws_\w+)\}")
_ANCHOR = re.compile(r"#(\w+) \w+#\w+\}")
# Terraform meta-arguments and blocks: not part of any provider schema.
META = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection", "__is_block__",
        "__comments__", "alias", "version"}
Node = dict[str, Any]


# -- extraction from a CDK bindings wheel ---------------------------------------------------------
def _snake(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", camel).lower()


def _struct_of(type_ref: dict[str, Any]) -> str | None:
    """The struct fqn a property holds (alone, in a list/set, or in a union with IResolvable)."""
    if "fqn" in type_ref:
        return None if type_ref["fqn"].startswith("cdktf.") or type_ref["fqn"].startswith("cdktn.") else type_ref["fqn"]
    if "collection" in type_ref:
        return _struct_of(type_ref["collection"]["elementtype"])
    for member in type_ref.get("union", {}).get("types", []):
        found = _struct_of(member)
        if found:
            return found
    return None


def _tf_name(prop: dict[str, Any]) -> str:
    docs = prop.get("docs", {})
    anchor = _ANCHOR.search(docs.get("summary", "") + " " + docs.get("remarks", ""))
    return anchor.group(1) if anchor else _snake(prop["name"])


def _node(types: dict[str, Any], fqn: str, memo: dict[str, Node]) -> str:
    """Add the struct ``fqn`` (and the structs of its blocks) to ``memo``; returns its id."""
    if fqn in memo:
        return fqn
    node: Node = {"attributes": {}, "blocks": {}}
    memo[fqn] = node
    for prop in types[fqn].get("properties", []):
        docs = prop.get("docs", {})
        name = _tf_name(prop)
        entry = {"required": not prop.get("optional", False), "deprecated": docs.get("deprecated")}
        struct = _struct_of(prop["type"])
        if struct and types.get(struct, {}).get("datatype") and docs.get("summary", "").startswith(f"{name} block"):
            entry["schema"] = _node(types, struct, memo)
            node["blocks"][name] = entry
        else:
            node["attributes"][name] = entry
    return fqn


def extract(wheel: Path) -> dict[str, Any]:
    """The compact schema of the hashicorp/aws release a CDK bindings wheel was generated from."""
    with zipfile.ZipFile(wheel) as zf:
        member = next(n for n in zf.namelist() if n.endswith(".jsii.tgz"))
        with tarfile.open(fileobj=io.BytesIO(zf.read(member))) as tf:
            handle = tf.extractfile("package/.jsii")
            assert handle is not None, f"{wheel}: no package/.jsii in {member}"
            assembly = json.load(handle)
    types: dict[str, Any] = assembly["types"]
    versions: set[str] = set()
    out: dict[str, Any] = {"resources": {}, "data_sources": {}}
    memo: dict[str, Node] = {}
    for fqn, entry in types.items():
        summary = entry.get("docs", {}).get("summary", "")
        versions.update(m.group(1) for m in _REGISTRY.finditer(summary))
        if entry.get("kind") != "class":
            continue
        link = _TYPE_LINK.search(summary)
        if link and f"{fqn}Config" in types:
            kind = "resources" if link.group(1) == "resources" else "data_sources"
            out[kind][link.group(2)] = _node(types, f"{fqn}Config", memo)
    providers = [f for f in types if f.endswith(".provider.AwsProviderConfig")]
    if len(versions) != 1 or len(providers) != 1:
        raise ValueError(f"{wheel.name}: expected one hashicorp/aws release in the docs and one provider config, "
                         f"found versions {sorted(versions)} and {providers}")
    out["provider"] = _node(types, providers[0], memo)
    out["structs"] = memo
    out["provider_version"] = versions.pop()
    out["package"] = f"{assembly['name']}@{assembly['version']}"
    return out


def pinned_packages(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The requirement strings of [dependency-groups].schemas."""
    groups = tomllib.loads(pyproject.read_text())["dependency-groups"]
    return list(groups["schemas"])


def install(schema_dir: Path = SCHEMA_DIR) -> list[Path]:
    """Download and extract every pinned schema package not yet extracted; returns the schema files."""
    schema_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for requirement in pinned_packages():
        target = schema_dir / (requirement.replace("==", "-") + ".json")
        if not target.exists():
            with tempfile.TemporaryDirectory() as tmp:
                subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                                "--disable-pip-version-check", "-d", tmp, requirement], check=True)
                wheel = next(Path(tmp).glob("*.whl"))
                schema = extract(wheel)
            schema["requirement"] = requirement
            target.write_text(json.dumps(schema, separators=(",", ":"), sort_keys=True))
            print(f"==> {requirement}: schema of hashicorp/aws {schema['provider_version']} -> {target}")
        written.append(target)
    return written


def load(schema_dir: Path = SCHEMA_DIR) -> dict[str, dict[str, Any]]:
    """Installed schemas by hashicorp/aws release."""
    out = {}
    for path in sorted(schema_dir.glob("*.json")):
        schema = json.loads(path.read_text())
        out[schema["provider_version"]] = schema
    return out


# -- conformance of the module's HCL --------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    kind: str  # error | deprecated
    where: str  # file: resource address and path inside it
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.message}"


def _label(raw: str) -> str:
    return raw.strip('"')


def _is_block_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get("__is_block__") for v in value)


def _check_body(body: dict[str, Any], schema: dict[str, Any], struct: str, where: str) -> Iterator[Finding]:
    node: Node = schema["structs"][struct]
    present: set[str] = set()
    for key, value in body.items():
        if key in META:
            continue
        if key == "dynamic":
            for dyn in value:
                for raw, spec in dyn.items():
                    name = _label(raw)
                    present.add(name)
                    block = node["blocks"].get(name)
                    if block is None:
                        yield Finding("error", where, f"dynamic block {name!r} is not a block of this schema")
                        continue
                    for content in spec.get("content", []):
                        yield from _check_body(content, schema, block["schema"], f"{where}.{name}")
            continue
        present.add(key)
        if key in node["blocks"]:
            block = node["blocks"][key]
            if not _is_block_list(value):
                yield Finding("error", where, f"{key!r} is a block, written as an argument")
                continue
            if block["deprecated"]:
                yield Finding("deprecated", where, f"block {key!r}: {block['deprecated']}")
            for item in value:
                yield from _check_body(item, schema, block["schema"], f"{where}.{key}")
        elif key in node["attributes"]:
            if _is_block_list(value):
                yield Finding("error", where, f"{key!r} is an argument, written as a block")
            if node["attributes"][key]["deprecated"]:
                yield Finding("deprecated", where, f"argument {key!r}: {node['attributes'][key]['deprecated']}")
        else:
            yield Finding("error", where, f"unknown argument or block {key!r}")
    for name, spec in {**node["attributes"], **node["blocks"]}.items():
        if spec["required"] and name not in present:
            yield Finding("error", where, f"required {'block' if name in node['blocks'] else 'argument'} "
                          f"{name!r} is not set")


def terraform_files(directories: Iterable[Path]) -> list[Path]:
    return sorted(p for d in directories for p in d.glob("*.tf") if not p.name.endswith("_override.tf"))


def usage_counts(directories: Iterable[Path]) -> dict[str, int]:
    """How many aws resource, data-source and provider blocks the directories hold (for the report)."""
    counts = {"resources": 0, "data_sources": 0, "providers": 0}
    for path in terraform_files(directories):
        parsed = hcl2.load(path.open())
        for kind, key in (("resource", "resources"), ("data", "data_sources")):
            for block in parsed.get(kind, []):
                counts[key] += sum(1 for raw in block if _label(raw).startswith("aws_"))
        counts["providers"] += sum(1 for b in parsed.get("provider", []) for raw in b if _label(raw) == "aws")
    return counts


def check(directories: Iterable[Path], schema: dict[str, Any], root: Path = ROOT) -> list[Finding]:
    """Findings for every aws resource, data source and provider block in ``directories``."""
    findings: list[Finding] = []
    for path in terraform_files(directories):
        rel = path.relative_to(root) if path.is_relative_to(root) else path
        parsed = hcl2.load(path.open())
        for kind, key, prefix in (("resource", "resources", ""), ("data", "data_sources", "data.")):
            for block in parsed.get(kind, []):
                for raw_type, named in block.items():
                    rtype = _label(raw_type)
                    if not rtype.startswith("aws_"):
                        continue
                    for raw_name, body in named.items():
                        where = f"{rel}: {prefix}{rtype}.{_label(raw_name)}"
                        struct = schema[key].get(rtype)
                        if struct is None:
                            findings.append(Finding("error", where, f"unknown {kind} type {rtype!r}"))
                        else:
                            findings.extend(_check_body(body, schema, struct, where))
        for block in parsed.get("provider", []):
            for raw, body in block.items():
                if _label(raw) == "aws":
                    findings.extend(_check_body(body, schema, schema["provider"], f"{rel}: provider.aws"))
    return findings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.provider_schema")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="download and extract the schemas pinned in pyproject.toml")
    report = sub.add_parser("check", help="check Terraform directories against every installed schema")
    report.add_argument("directories", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "install":
        install()
        return 0
    failed = False
    for version, schema in load().items():
        findings = check([d.resolve() for d in args.directories], schema)
        errors = [f for f in findings if f.kind == "error"]
        failed |= bool(errors)
        print(f"hashicorp/aws {version} ({schema['package']}): {len(errors)} error(s), "
              f"{len(findings) - len(errors)} deprecation(s)")
        for finding in findings:
            print(f"  {finding}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

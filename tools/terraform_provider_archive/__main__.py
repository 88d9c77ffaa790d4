"""``python -m tools.terraform_provider_archive``: serve the provider (Terraform runs this)."""

from __future__ import annotations

import sys

from tools.terraform_provider_archive.provider import serve

if __name__ == "__main__":
    sys.exit(serve())

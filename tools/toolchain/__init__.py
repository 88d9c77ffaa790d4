"""Offline Terraform toolchain used by the tests, the demo and CI (not shipped)."""

"""Helpers the tests import (fixtures stay in the conftest.py files).

* ``staging``: the staged copy of the repository the session's Terraform runs use (``staged``).
* ``functions``: handlers and shipped scripts imported in-process (``load_function``, ``load_script``).
* ``tfutil``: Terraform run through pytest-terraform's runner against a staged configuration.
* ``costactions``: the action handlers loaded, notifications tapped, traffic seeded (cost-action tests).
* ``simulation``: a deployment's functions driven through its deployed rules on a simulated clock.
* ``iam_policy_checks``: IAM policies read from a plan and checked for over-broad grants.
* ``netguard``: a sitecustomize that logs and refuses non-loopback connections of child processes.
"""

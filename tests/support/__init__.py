"""Helpers the tests import (fixtures stay in the conftest.py files).

* ``staging``: the staged copy of the repository the session's Terraform runs use (``staged``).
* ``functions``: a function's handler module imported in-process (``load_function``).
"""

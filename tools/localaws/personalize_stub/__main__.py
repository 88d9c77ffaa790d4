"""``python -m tools.localaws.personalize_stub``: see :func:`tools.localaws.personalize_stub.cli.main`."""

import sys

from tools.localaws.personalize_stub.cli import main

sys.exit(main())

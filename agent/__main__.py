"""``python -m agent``: see :mod:`agent.main`."""

import sys

from agent.main import main

sys.exit(main())

"""Entry point of ``python -m pytest_llmops.testing.loopback``."""

import sys

from .cli import main

sys.exit(main())

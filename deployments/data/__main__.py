"""Entry point of ``python -m deployments.data`` (see :mod:`deployments.data.cli`)."""

import sys

from deployments.data.cli import main

sys.exit(main())

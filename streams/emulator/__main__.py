"""``python -m streams.emulator``: see streams/emulator/cli.py and docs/emulator.md."""

from __future__ import annotations

import sys

from streams.emulator.cli import main

sys.exit(main())

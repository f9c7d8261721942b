"""``python -m rtms_emulator``: see rtms_emulator/cli.py and docs/emulator.md."""

from __future__ import annotations

import sys

from rtms_emulator.cli import main

sys.exit(main())

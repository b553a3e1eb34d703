"""PyInstaller entry point: the same ``shellgui`` command (no arguments opens the window)."""

import sys

from shellgui.cli import main

sys.exit(main())

"""``python -m shellgui``: the same entry point as the ``shellgui`` command."""

from shellgui.cli import main

raise SystemExit(main())

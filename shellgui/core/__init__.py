"""The headless core of shellgui: imaging, model cards, inference, the catalogue, batch work and export.

Nothing under ``shellgui.core`` imports PySide6 or PyTorch (an import-linter contract checks it), so the
same code serves a plain script, the CLI, the GUI and the trainer.
"""

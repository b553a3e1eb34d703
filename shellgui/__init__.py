"""shellgui: identify mollusc shells from photos and keep a specimen catalogue.

Importing this package is cheap on purpose: no NumPy, ONNX Runtime, Qt or PyTorch is loaded until a
command or the window needs it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("shellgui")  # one source: pyproject.toml, via the installed metadata
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

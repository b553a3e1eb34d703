"""shellgui: identify mollusc shells from photos and keep a specimen catalogue.

Importing this package is cheap on purpose: no NumPy, ONNX Runtime, Qt or PyTorch is loaded until a
command or the window needs it.
"""

__version__ = "0.1.0"

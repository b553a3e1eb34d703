"""Before the window opens on Linux: are the system libraries Qt's X11 platform plugin needs installed?

A minimal Debian lacks ``libxcb-cursor0`` and friends, and Qt then stops with a long message about
plugins. ``make run`` calls ``python -m shellgui.qtcheck`` first, which names the missing libraries and the
command that installs them. It never imports Qt (which is what fails).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

#: Shared library -> the Debian/Ubuntu package that provides it.
DEBIAN_PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
}
#: What Qt loads to open a window on X11 (relative to PySide6's Qt folder).
QT_LIBRARIES = (
    "plugins/platforms/libqxcb.so",
    "lib/libQt6XcbQpa.so.6",
    "lib/libQt6Widgets.so.6",
    "lib/libQt6Gui.so.6",
)


def qt_folder() -> Path | None:
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "Qt"


def not_found(ldd_output: str) -> list[str]:
    """The libraries ``ldd`` reports as ``not found``."""
    return [line.split()[0] for line in ldd_output.splitlines() if "=> not found" in line]


def missing_libraries() -> list[str]:
    """Shared libraries Qt's X11 plugin needs and this system lacks ([] off Linux or without ldd)."""
    folder, ldd = qt_folder(), shutil.which("ldd")
    if not sys.platform.startswith("linux") or folder is None or ldd is None:
        return []
    missing: list[str] = []
    for relative in QT_LIBRARIES:
        library = folder / relative
        if library.exists():
            out = subprocess.run([ldd, str(library)], capture_output=True, text=True, check=False).stdout
            missing += [name for name in not_found(out) if name not in missing and "Qt6" not in name]
    return missing


def advice(missing: list[str]) -> str:
    packages = sorted({DEBIAN_PACKAGES.get(name, name) for name in missing})
    return (
        f"shellgui: the window needs system libraries that are missing here: {', '.join(missing)}\n"
        f"  Debian/Ubuntu: sudo apt-get install {' '.join(packages)}\n"
        "  Fedora: sudo dnf install xcb-util-cursor xcb-util-wm xcb-util-image xcb-util-keysyms "
        "xcb-util-renderutil libxkbcommon-x11\n"
        "  (the command line works without them: shellgui --help)"
    )


def main() -> int:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return 0  # offscreen, wayland, ...: the X11 plugin is not used
    missing = missing_libraries()
    if missing:
        print(advice(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

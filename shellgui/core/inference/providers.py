"""Choose ONNX Runtime execution providers in ONE place: CUDA when it can start, else the CPU.

Order of precedence: the ``SHELLGUI_PROVIDER`` environment variable, then the user's setting, then
automatic. ``onnxruntime-gpu`` lists ``CUDAExecutionProvider`` even on machines without a GPU and prints
loud errors when it cannot start, so "automatic" first checks that an NVIDIA driver is present, and only
``session.get_providers()`` is trusted to say what really runs.
"""

from __future__ import annotations

import ctypes.util
import logging
import os
import sys
from dataclasses import dataclass

log = logging.getLogger(__name__)

PROVIDER_ENV = "SHELLGUI_PROVIDER"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
_PRELOADED = False


@dataclass(frozen=True)
class ProviderPlan:
    """The providers to ask ONNX Runtime for, and why."""

    providers: list[str]
    reason: str


def nvidia_driver_present() -> bool:
    """A cheap check for an NVIDIA driver, so CPU-only machines never try (and log errors for) CUDA."""
    if sys.platform.startswith("linux"):
        return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")
    if sys.platform == "win32":
        return ctypes.util.find_library("nvcuda") is not None
    return False


def plan_providers(preference: str | None = None) -> ProviderPlan:
    """Decide which providers to request.

    Args:
        preference: the user's setting (``"auto"``, ``"cuda"`` or ``"cpu"``); the environment variable wins.
    """
    import onnxruntime as ort

    wanted = (os.environ.get(PROVIDER_ENV) or preference or "auto").strip().lower()
    source = f"{PROVIDER_ENV}={wanted}" if os.environ.get(PROVIDER_ENV) else f"setting '{wanted}'"
    available = ort.get_available_providers()
    if wanted == "cpu":
        return ProviderPlan([CPU], f"CPU requested by {source}")
    if CUDA not in available:
        return ProviderPlan([CPU], "this ONNX Runtime build has no CUDA provider")
    if wanted != "cuda" and not nvidia_driver_present():
        return ProviderPlan([CPU], "no NVIDIA driver found")
    return ProviderPlan(
        [CUDA, CPU], f"CUDA requested by {source}" if wanted == "cuda" else "automatic: GPU found"
    )


def preload_cuda_libraries() -> None:
    """Load CUDA/cuDNN from NVIDIA's pip wheels (those PyTorch installs) when ONNX Runtime offers it."""
    global _PRELOADED
    if _PRELOADED:
        return
    _PRELOADED = True
    import onnxruntime as ort

    preload = getattr(ort, "preload_dlls", None)
    if preload is None:
        return
    try:
        preload()
    except Exception as exc:  # the system libraries may still be there
        log.info("preload_dlls did not load NVIDIA libraries: %s", exc)

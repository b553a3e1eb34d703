"""Training throughput (images/s) of the recipe's inner step: CPU fp32, and on CUDA fp32 against
AMP + channels-last when a GPU is present. Random tensors, so only the network's speed is measured.

    python bench/bench_train.py [--steps N] [--archs efficientnetv2_b0,efficientnet_v2_s]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from common import table


def throughput(
    arch_name: str, device: str, amp: bool, channels_last: bool, batch: int, size: int, steps: int
) -> float:
    import torch
    from torch import nn

    from shellgui_train.architectures import get_architecture

    torch.manual_seed(0)
    model = get_architecture(arch_name).build(25, "none").to(device)
    memory = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    images = torch.rand(batch, 3, size, size, device=device).to(memory_format=memory)
    targets = torch.randint(0, 25, (batch,), device=device)

    def step() -> None:
        with torch.autocast(device.split(":")[0], dtype=torch.float16, enabled=amp):
            loss = criterion(model(images), targets)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    for _ in range(2):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return batch * steps / (time.perf_counter() - start)


def main() -> None:
    import torch

    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--archs", default="efficientnetv2_b0,efficientnet_v2_s")
    args = parser.parse_args()
    sizes = {"efficientnetv2_b0": (224, 16), "efficientnetv2_b2": (260, 16), "efficientnet_v2_s": (384, 8)}
    rows = []
    for arch in args.archs.split(","):
        size, cpu_batch = sizes.get(arch, (224, 8))
        rows.append(
            (
                arch,
                f"{size}",
                "cpu",
                "fp32",
                f"{cpu_batch}",
                f"{throughput(arch, 'cpu', False, False, cpu_batch, size, args.steps):.1f}",
            )
        )
        if torch.cuda.is_available():
            for amp, cl, label in ((False, False, "fp32"), (True, True, "AMP fp16 + channels-last")):
                ips = throughput(arch, "cuda", amp, cl, 64, size, max(args.steps, 20))
                rows.append((arch, f"{size}", torch.cuda.get_device_name(), label, "64", f"{ips:.1f}"))
    print(f"Training throughput, {torch.get_num_threads()} CPU threads, torch {torch.__version__}")
    print(table(rows, ("architecture", "px", "device", "precision", "batch", "images/s")))
    if not torch.cuda.is_available():
        print("(no CUDA device here: GPU rows need a machine with an NVIDIA GPU)")


if __name__ == "__main__":
    main()

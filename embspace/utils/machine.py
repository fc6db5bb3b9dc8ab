"""One line describing the machine, printed by every benchmark next to its figures."""

from __future__ import annotations

import os
import platform

import numpy as np
import torch


def describe_machine() -> str:
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return (f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
            f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
            f"CUDA device: {gpu}, 1-min load average {os.getloadavg()[0]:.1f}")

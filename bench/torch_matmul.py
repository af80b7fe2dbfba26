"""Square float32 matmul in PyTorch, timed on request, for bench/matmul.ts.

Started with n and a thread count (0: every core); prints one `ready` line (versions and thread counts), then answers each `run`
line with one JSON line: wall and process CPU seconds of one n x n x n product. The warm-up runs
before `ready`.
"""

import ctypes
import json
import os
import sys
import time

import torch


def main():
    n, threads = int(sys.argv[1]), int(sys.argv[2])
    torch.set_num_threads(threads or os.cpu_count())
    g = torch.Generator().manual_seed(n)
    a = torch.rand(n, n, generator=g) - 0.5
    b = torch.rand(n, n, generator=g) - 0.5
    start = time.perf_counter()
    while time.perf_counter() - start < 0.4:
        torch.mm(a, b)
    try:
        blas_threads = ctypes.CDLL("libopenblas.so.0").openblas_get_num_threads()
    except (OSError, AttributeError):
        blas_threads = None
    info = {"torch": torch.__version__, "threads": torch.get_num_threads(), "openblas_threads": blas_threads}
    print("ready " + json.dumps(info), flush=True)
    for line in sys.stdin:
        if line.strip() != "run":
            break
        cpu0, wall0 = time.process_time(), time.perf_counter()
        torch.mm(a, b)
        print(json.dumps({"wall": time.perf_counter() - wall0, "cpu": time.process_time() - cpu0}), flush=True)


if __name__ == "__main__":
    main()

"""PyTorch's peer figure for scripts/gpu-check/matmul.ts: torch.matmul GFLOPS for n x n matrices.

Random normal inputs, warm-up, then the median of ROUNDS rounds of REPS products timed with CUDA
events. float32 runs with TF32 off (PyTorch's default for matmul), as our float32 matmul computes.

    python3 scripts/gpu-check/torch_matmul.py --size 4096 --dtypes bfloat16,float32 --out r.json
"""
import argparse
import json
import statistics

import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--dtypes", default="bfloat16,float32")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out")
    args = parser.parse_args()
    n = args.size
    result = {
        "size": n,
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0),
        "tf32": torch.backends.cuda.matmul.allow_tf32,
        "runs": [],
    }
    for name in args.dtypes.split(","):
        dtype = getattr(torch, name)
        gen = torch.Generator(device="cuda").manual_seed(0)
        a = torch.randn(n, n, device="cuda", dtype=dtype, generator=gen)
        b = torch.randn(n, n, device="cuda", dtype=dtype, generator=gen)
        for _ in range(3):
            torch.matmul(a, b)
        torch.cuda.synchronize()
        times = []
        for _ in range(args.rounds):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(args.reps):
                torch.matmul(a, b)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1000 / args.reps)
        per = statistics.median(times)
        run = {"dtype": name, "impl": "torch.matmul", "gflops": round(2 * n**3 / per / 1e9, 1),
               "msPerProduct": round(per * 1000, 3)}
        print(f"torch.matmul {n} {name}: {run['gflops']} GFLOPS")
        result["runs"].append(run)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()

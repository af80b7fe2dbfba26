"""PyTorch's peer figure for scripts/gpu-check/train-step.ts: the same LLaMA training step with
transformers' LlamaForCausalLM and torch.optim.AdamW, bf16 weights (so bf16 moments, as the
paper counts them), BATCH x SEQ random tokens. Throughput is the median of the steps after the
first; memory is torch.cuda.max_memory_allocated (tensors) and max_memory_reserved (its cache).

    python3 scripts/gpu-check/torch_llama_step.py --config llama_1b.json --seq 256 --steps 4 --out r.json

--config is our preset as a Hugging Face config.json (the check writes it from llamaPreset).
"""
import argparse
import json
import statistics
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--out")
    args = parser.parse_args()
    result = {"peer": "transformers LlamaForCausalLM + torch.optim.AdamW (bf16)", "torch": torch.__version__,
              "batch": args.batch, "seq": args.seq, "complete": False}

    def write() -> None:
        if args.out:
            with open(args.out, "w") as f:
                json.dump(result, f, indent=2)

    import transformers
    from transformers import LlamaConfig, LlamaForCausalLM

    result["transformers"] = transformers.__version__
    with open(args.config) as f:
        config = LlamaConfig(**json.load(f))
    torch.manual_seed(0)
    with torch.device("cuda"):  # initialised on the GPU: seconds instead of a minute on the CPU
        model = LlamaForCausalLM(config).to(dtype=torch.bfloat16)
    model.train()
    result["parameters"] = sum(p.numel() for p in model.parameters())
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    ids = torch.randint(0, config.vocab_size, (args.batch, args.seq), device="cuda")
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    steps = []
    for step in range(args.steps):
        start = time.perf_counter()
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        value = loss.item()
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        steps.append({"seconds": round(seconds, 4), "loss": round(value, 4)})
        print(f"torch step {step + 1}: {seconds:.3f} s, loss {value:.4f}")
        result["steps"] = steps
        write()
    steady = [s["seconds"] for s in steps[1:]]
    tokens = args.batch * args.seq
    result["summary"] = {
        "tokensPerSecond": round(tokens / statistics.median(steady), 2) if steady else None,
        "maxAllocatedGB": round(torch.cuda.max_memory_allocated() / 1e9, 3),
        "maxReservedGB": round(torch.cuda.max_memory_reserved() / 1e9, 3),
    }
    result["complete"] = True
    write()


if __name__ == "__main__":
    main()

"""The same LLaMA training step as bench/train-step.ts, in plain PyTorch, driven one step at a time.

bench/train-step.ts starts this script with the model config as JSON, reads one `ready` line
(versions and thread counts), then writes `step` lines; each answers with one JSON line holding
the loss, the wall time and this process's CPU time of that step. Stepping on request is what
lets the benchmark alternate PyTorch's steps with ours in one run.

The model follows Hugging Face's LlamaForCausalLM: token embedding, per layer RMSNorm ->
q/k/v projections (no bias) -> rotate-half RoPE -> grouped-query causal softmax attention ->
output projection, residual, RMSNorm -> SwiGLU MLP, residual; final RMSNorm, untied LM head,
next-token cross-entropy; AdamW (lr 1e-4, no weight decay).
"""

import ctypes
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        h, self.heads, self.kv_heads = c["hidden_size"], c["num_attention_heads"], c["num_key_value_heads"]
        self.hd = h // self.heads
        self.input_norm = RMSNorm(h, c["rms_norm_eps"])
        self.q = nn.Linear(h, self.heads * self.hd, bias=False)
        self.k = nn.Linear(h, self.kv_heads * self.hd, bias=False)
        self.v = nn.Linear(h, self.kv_heads * self.hd, bias=False)
        self.o = nn.Linear(self.heads * self.hd, h, bias=False)
        self.post_norm = RMSNorm(h, c["rms_norm_eps"])
        self.gate = nn.Linear(h, c["intermediate_size"], bias=False)
        self.up = nn.Linear(h, c["intermediate_size"], bias=False)
        self.down = nn.Linear(c["intermediate_size"], h, bias=False)

    def forward(self, x, cos, sin, mask):
        b, s, _ = x.shape
        h = self.input_norm(x)
        q = self.q(h).view(b, s, self.heads, self.hd).transpose(1, 2)
        k = self.k(h).view(b, s, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v(h).view(b, s, self.kv_heads, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        group = self.heads // self.kv_heads
        if group > 1:
            k = k.repeat_interleave(group, dim=1)
            v = v.repeat_interleave(group, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        attended = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, -1)
        x = x + self.o(attended)
        m = self.post_norm(x)
        return x + self.down(F.silu(self.gate(m)) * self.up(m))


class Llama(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(Layer(c) for _ in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        for name, p in self.named_parameters():
            if "norm" not in name:
                nn.init.normal_(p, std=c["initializer_range"])
        hd = c["hidden_size"] // c["num_attention_heads"]
        inv = 1.0 / (c["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd))
        self.hd, self.inv = hd, inv

    def forward(self, ids):
        s = ids.shape[1]
        angles = torch.outer(torch.arange(s).float(), self.inv)
        angles = torch.cat((angles, angles), dim=-1)
        cos, sin = angles.cos(), angles.sin()
        mask = torch.full((s, s), float("-inf")).triu(1)
        x = self.embed(ids)
        for layer in self.layers:
            x = layer(x, cos, sin, mask)
        return self.head(self.norm(x))


def openblas_threads():
    """Threads of the OpenBLAS torch links (its own pool, besides torch's intra-op threads)."""
    try:
        return ctypes.CDLL("libopenblas.so.0").openblas_get_num_threads()
    except (OSError, AttributeError):
        return None


def main():
    c = json.loads(sys.argv[1])
    torch.manual_seed(0)
    torch.set_num_threads(c.get("threads") or os.cpu_count())
    model = Llama(c)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    tokens = torch.randint(0, c["vocab_size"], (c["batch"], c["seq"] + 1))
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    info = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "openblas_threads": openblas_threads(),
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    print("ready " + json.dumps(info), flush=True)
    for line in sys.stdin:
        if line.strip() != "step":
            break
        cpu0, wall0 = time.process_time(), time.perf_counter()
        logits = model(inputs)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        value = loss.item()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        print(json.dumps({"loss": value, "wall_ms": wall * 1e3, "cpu_ms": cpu * 1e3}), flush=True)


if __name__ == "__main__":
    main()

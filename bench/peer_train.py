#!/usr/bin/env python3
"""Peer for bench_train: the nn.Linear(100, 10) SGD step in Python, plain PyTorch, swept over global batches.

usage: peer_train.py --mode plain|dp|ddp --batches 64,256,... --out FILE
                     [--device cuda|cpu] [--min-time S] [--lr X] [--momentum X]
  plain  the eager training loop, the model on one device (cuda:0, or the CPU)
  dp     nn.DataParallel over every visible GPU
  ddp    DistributedDataParallel, one process per GPU, under torchrun:
         python3 -m torch.distributed.run --standalone --nproc-per-node N peer_train.py --mode ddp ...
         (nccl on GPUs, gloo with --device cpu); each rank takes global_batch / N samples.
Each step: optimizer.zero_grad(set_to_none=True); loss = mse(model(x), y); loss.backward();
optimizer.step(); then the device is synchronized. Per batch: 3 warm-up steps, then timed steps until
--min-time (the same count on every rank). Rank 0 appends one line per batch to --out, as bench_train's
own workers and bench/peer_train.cpp do:
result MODE BATCH WORLD RUNS MEDIAN_S MIN_S MAX_S P25_S P75_S TORCH_VERSION
Exit codes: 0 done; 1 an error (message on stderr).
"""
import argparse
import os
import statistics
import time

import torch
import torch.nn as nn


def quartiles(times):
    """The first and third quartiles, interpolated between samples (as bench/harness.c does)."""
    v = sorted(times)

    def q(p):
        h = (len(v) - 1) * p
        i = int(h)
        return v[i] + (h - i) * (v[i + 1] - v[i]) if i + 1 < len(v) else v[-1]

    return q(0.25), q(0.75)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["plain", "dp", "ddp"], required=True)
    ap.add_argument("--batches", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    ap.add_argument("--min-time", type=float, default=0.2)
    ap.add_argument("--lr", type=float, default=0.1)
    ap.add_argument("--momentum", type=float, default=0.9)
    a = ap.parse_args()
    batches = [int(b) for b in a.batches.split(",")]

    rank, world, local = 0, 1, 0
    if a.mode == "ddp":
        import torch.distributed as dist

        rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local = int(os.environ.get("LOCAL_RANK", rank))
        if a.device == "cuda":
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if a.device == "cuda" else "gloo")
    device = torch.device(f"cuda:{local}" if a.device == "cuda" else "cpu")
    cuda = device.type == "cuda"

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    for batch in batches:
        per = batch // world
        torch.manual_seed(1)
        model = nn.Linear(100, 10).to(device)
        if a.mode == "dp":
            model = nn.DataParallel(model)
        elif a.mode == "ddp":
            model = nn.parallel.DistributedDataParallel(model, device_ids=[local] if cuda else None)
        opt = torch.optim.SGD(model.parameters(), lr=a.lr, momentum=a.momentum)
        x = torch.randn(per, 100, device=device)
        y = torch.randn(per, 10, device=device)
        loss_fn = nn.MSELoss()

        def step():
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
            sync()

        for _ in range(3):
            step()
        t0 = time.perf_counter()
        step()
        once = time.perf_counter() - t0
        n = max(5, min(100000, int(a.min_time / max(once, 1e-7)) + 1))
        if a.mode == "ddp":  # every rank must take the same number of steps
            t = torch.tensor([n], device=device)
            torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
            n = int(t.item())
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        if rank == 0:
            p25, p75 = quartiles(times)
            with open(a.out, "a") as f:
                f.write(f"result {a.mode} {batch} {world} {n} {statistics.median(times):.9g} {min(times):.9g} "
                        f"{max(times):.9g} {p25:.9g} {p75:.9g} {torch.__version__}\n")
        del model, opt, x, y
        if cuda:
            torch.cuda.empty_cache()
    if a.mode == "ddp":
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main()

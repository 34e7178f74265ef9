#!/usr/bin/env python3
"""Peer for bench_model: the exported model run from Python, as PyTorch documents it:
    model = torch._inductor.aoti_load_package(PACKAGE); y = model(x)   (synchronized on a GPU)

usage: peer_model.py PACKAGE DEVICE BATCH            steady state: the peer protocol of bench/harness.h
       peer_model.py --first-run PACKAGE DEVICE BATCH   one load and one first call; prints "LOAD_S FIRST_S"
DEVICE is cpu or cuda:N; x = randn(BATCH, 64) on it. In steady state, after a warm-up it prints
"ready torch <version>"; to "run <min_time_s>" it answers "<runs> <median_s> <min_s> <max_s> <p25_s> <p75_s>";
"quit" or end of input ends it. The first run is timed from before aoti_load_package to the end of the
first call, after `import torch` (which is not timed).
"""
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_move import serve  # noqa: E402  the protocol loop the peers share


def sync(device):
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)


def first_run(package, device, batch):
    x = torch.randn(batch, 64, device=device)
    sync(device)
    t0 = time.perf_counter()
    model = torch._inductor.aoti_load_package(package)
    t1 = time.perf_counter()
    y = model(x)
    sync(device)
    t2 = time.perf_counter()
    del y
    print(t1 - t0, t2 - t1, flush=True)


def steady(package, device, batch):
    model = torch._inductor.aoti_load_package(package)
    x = torch.randn(batch, 64, device=device)

    def once():
        t0 = time.perf_counter()
        y = model(x)  # the line measured
        sync(device)
        t = time.perf_counter() - t0
        del y
        return t

    serve(once)


def main():
    args = sys.argv[1:]
    if args[:1] == ["--first-run"] and len(args) == 4:
        first_run(args[1], args[2], int(args[3]))
    elif len(args) == 3:
        steady(args[0], args[1], int(args[2]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

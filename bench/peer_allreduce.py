"""peer_allreduce.py: the Python peer of check_cuda's all-reduce bandwidth sweep (ltc_cluster_allreduce_proof).

The same measurement in torch.distributed: float32 sum all-reduce over NCCL, one GPU per rank, sizes from 8 B
doubling to 256 MiB (--max-bytes), 5 warm-up and 20 timed calls per size, timed on the host until the work is
done (torch.cuda.synchronize), each rank's mean time per call averaged over the ranks; algbw = bytes / time,
busbw = algbw * 2(n-1)/n, as nccl-tests reports them. Rank 0 prints one line per size, and --json a document.

    torchrun --nproc-per-node N bench/peer_allreduce.py [--max-bytes B] [--json]
    # compare with:  check_cuda --nproc N   (the sweep under "all-reduce bandwidth")
"""
import argparse
import json
import os
import time

import torch
import torch.distributed as dist


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-bytes", type=int, default=256 << 20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(local_rank)
    os.environ.setdefault("NCCL_NVLS_ENABLE", "0")  # as ltc's launcher sets it
    dist.init_process_group("nccl", device_id=torch.device("cuda", local_rank))
    world, rank = dist.get_world_size(), dist.get_rank()

    # The data check, as the proof's: rank q gives (q+1) * (1 + i % 7); the sum is n(n+1)/2 * (1 + i % 7).
    n = min(args.max_bytes // 4, 1 << 20) if args.max_bytes >= 8 else 1 << 20
    base = torch.arange(n, device="cuda", dtype=torch.float32).remainder_(7).add_(1)
    x = base * (rank + 1)
    dist.all_reduce(x)
    wrong = int((x != base * (world * (world + 1) / 2)).sum())

    buf = torch.zeros(args.max_bytes // 4, device="cuda", dtype=torch.float32)
    rows = []
    size = 8
    while size <= args.max_bytes:
        t = buf[: size // 4]
        for _ in range(args.warmup):
            dist.all_reduce(t)
        torch.cuda.synchronize()
        dist.barrier()
        t0 = time.perf_counter()
        for _ in range(args.iters):
            dist.all_reduce(t)
        torch.cuda.synchronize()
        mine = torch.tensor([(time.perf_counter() - t0) / args.iters], device="cuda", dtype=torch.float64)
        dist.all_reduce(mine)
        sec = mine.item() / world
        algbw = size / sec / 1e9
        rows.append({"bytes": size, "time_us": sec * 1e6, "algbw_gbps": algbw, "busbw_gbps": algbw * 2 * (world - 1) / world})
        size *= 2

    if rank == 0:
        if args.json:
            print(json.dumps({"peer": "torch.distributed", "torch": torch.__version__, "nccl": ".".join(map(str, torch.cuda.nccl.version())),
                              "world_size": world, "gpu": torch.cuda.get_device_name(), "check_wrong_values": wrong,
                              "sweep": rows}, indent=2))
        else:
            print(f"torch.distributed all-reduce over {world} rank(s), {torch.cuda.get_device_name()}, torch {torch.__version__}; "
                  f"data check: {'ok' if wrong == 0 else f'{wrong} wrong values'}")
            print(f"{'size':>12} {'time (us)':>12} {'algbw (GB/s)':>12} {'busbw (GB/s)':>12}")
            for r in rows:
                print(f"{r['bytes']:>12} {r['time_us']:>12.1f} {r['algbw_gbps']:>12.2f} {r['busbw_gbps']:>12.2f}")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()

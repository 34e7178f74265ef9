/* bench_allreduce: the NCCL all-reduce through ltc (the proof and sweep of check_cuda across ranks,
 * ltc_cluster_allreduce_proof) against the same sweep in torch.distributed (bench/peer_allreduce.py
 * under torchrun), side by side: float32 sum all-reduces from 8 B doubling to --max-bytes, 5 warm-up
 * and 20 timed calls per size, each rank's mean time per call averaged over the ranks; algbw =
 * bytes / time, busbw = algbw * 2(n-1)/n, as nccl-tests reports them. Ours and the peer alternate
 * round by round (A B A B ...), each a fresh set of ranks, one per GPU; a size's figure is the median
 * of its rounds' times. --device cpu runs ours on CPU ranks through the store (no peer): to try it
 * without a GPU. */
#define _DEFAULT_SOURCE /* mkdtemp */
#include "harness.h"
#include "ltc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#ifndef LTC_BENCH_PEER_ALLREDUCE_PY
#define LTC_BENCH_PEER_ALLREDUCE_PY "peer_allreduce.py"
#endif

static const char usage[] =
    "usage: bench_allreduce [options]\n"
    "NCCL all-reduce bus bandwidth through ltc (check_cuda's sweep) against torch.distributed's, side by\n"
    "side: sizes from 8 B doubling to --max-bytes, ranks one per GPU.\n"
    "  --nproc N        ranks, one per GPU, 1 to 64 (default: every visible GPU; busbw needs 2 or more)\n"
    "  --rounds N       alternated rounds of ours and the peer, 1 to 16 (default 3)\n"
    "  --max-bytes B    the largest size, 8 to 1 GiB (default 256 MiB; 1 MiB with --device cpu)\n"
    "  --device cpu     ours on CPU ranks through the store, no peer: to try it without a GPU\n"
    "  --python PATH    Python with torch for the peer (default $LTC_PYTHON, else python3)\n"
    "  --no-python      no peer\n"
    "  --csv FILE       write the table as CSV\n"
    "  --json FILE      write everything, with the machine and versions, as JSON\n"
    "  --md FILE        write everything as Markdown\n"
    "exit codes: 0 measured (goals are reported, not enforced); 1 an error while measuring, or an output\n"
    "could not be written; 2 bad usage\n";

enum { MAXS = 28, MAXR = 16 }; /* 8 B .. 1 GiB: 28 sizes */

/* One side's sweep of one round: time per all-reduce (us) by size index; 0 where not measured. */
typedef struct sweep {
    double time_us[MAXS];
} sweep;

/* Reads "SIZE TIME_US ..." lines (the first two numbers of each line whose first is a power of two
 * from 8) from path into s; returns how many sizes were read. */
static int read_sweep(const char *path, sweep *s) {
    FILE *f = fopen(path, "r");
    char line[512];
    int n = 0;
    memset(s, 0, sizeof *s);
    while (f && fgets(line, sizeof line, f)) {
        unsigned long long bytes = 0;
        double t = 0;
        if (sscanf(line, "%llu %lf", &bytes, &t) != 2 || bytes < 8 || (bytes & (bytes - 1)) != 0 || !(t > 0))
            continue;
        int i = 0;
        while ((8ull << i) < bytes)
            i++;
        if (i < MAXS) {
            n += s->time_us[i] == 0;
            s->time_us[i] = t;
        }
    }
    if (f)
        fclose(f);
    return n;
}

/* 1 when the file at path has a line containing text. */
static int file_has(const char *path, const char *text) {
    FILE *f = fopen(path, "r");
    char line[512];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    if (f)
        fclose(f);
    return found;
}

/* A rank of ours, started by ltc_launch_local: bench_allreduce --worker FILE cuda|cpu MAX_BYTES. The
 * check, then the proof with its sweep; rank 0 writes "SIZE TIME_US ALGBW BUSBW" lines to FILE. */
static int worker(char **argv) {
    ltc_dist_env env;
    ltc_cluster_report *rep = NULL;
    const int cuda = strcmp(argv[3], "cuda") == 0;
    if (ltc_dist_env_from(&env, NULL) != LTC_OK ||
        ltc_cluster_check(&rep, &env, LTC_DIAGNOSE_QUICK | LTC_DIAGNOSE_NO_CHILD, 60) != LTC_OK) {
        fprintf(stderr, "bench_allreduce: %s\n", ltc_last_error());
        return 1;
    }
    ltc_device dev = {cuda ? LTC_DEVICE_CUDA : LTC_DEVICE_CPU, cuda ? env.local_rank : 0};
    if (ltc_cluster_allreduce_proof(rep, dev, (size_t)strtoull(argv[4], NULL, 10), 120) != LTC_OK) {
        fprintf(stderr, "bench_allreduce: rank %d: %s\n%s", env.rank, ltc_last_error(), env.rank == 0 ? ltc_cluster_report_text(rep) : "");
        ltc_cluster_report_free(rep);
        return 1;
    }
    int rc = 0;
    if (env.rank == 0) {
        FILE *f = fopen(argv[2], "w");
        for (size_t i = 0; f && i < ltc_cluster_report_sweep_count(rep) && rc == 0; i++) {
            ltc_cluster_bandwidth b;
            if (ltc_cluster_report_sweep(&b, rep, i) != LTC_OK) {
                fprintf(stderr, "bench_allreduce: size %zu of the sweep: %s\n", i, ltc_last_error());
                rc = 1;
            } else {
                fprintf(f, "%zu %.6f %.6f %.6f\n", b.bytes, b.time_us, b.algbw_gbps, b.busbw_gbps);
            }
        }
        const int bad = !f || ferror(f);
        if ((f && fclose(f) != 0) || bad) {
            fprintf(stderr, "bench_allreduce: cannot write %s: %s\n", argv[2], strerror(errno));
            rc = 1;
        }
    }
    ltc_cluster_report_free(rep);
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "--worker") == 0)
        return worker(argv);
    static const struct option longs[] = {BENCH_ARGS_OPTIONS, BENCH_PEER_OPTIONS,
                                          {"nproc", required_argument, 0, 'n'},
                                          {"rounds", required_argument, 0, 'r'},
                                          {"max-bytes", required_argument, 0, 'm'},
                                          {"device", required_argument, 0, 'd'},
                                          {0, 0, 0, 0}};
    bench_args args;
    int nproc = -1, rounds = 3, cuda = 1, device_given = 0;
    long long max_bytes = -1, n = 0;
    bench_args_init(&args, argv[0]);
    for (int c, rc = 0; (c = bench_args_next(&args, argc, argv, longs, &rc)) != -1;) {
        if (rc)
            return rc;
        switch (c) {
        case 'h': fputs(usage, stdout); return fflush(stdout) == 0 ? 0 : 1;
        case 'n':
            if (bench_whole(&n, "--nproc", optarg, 1, 64))
                return 2;
            nproc = (int)n;
            break;
        case 'r':
            if (bench_whole(&n, "--rounds", optarg, 1, MAXR))
                return 2;
            rounds = (int)n;
            break;
        case 'm':
            if (bench_whole(&max_bytes, "--max-bytes", optarg, 8, 1ll << 30))
                return 2;
            break;
        case 'd':
            if (strcmp(optarg, "cpu") != 0 && strcmp(optarg, "cuda") != 0)
                return bench_invalid("--device", optarg, "use cuda or cpu");
            cuda = !strcmp(optarg, "cuda");
            device_given = 1;
            break;
        default: return bench_usage_error(c, argv);
        }
    }
    if (bench_args_check(&args, argc, argv))
        return 2;
    int ngpu = 0;
    const int no_gpu = cuda && (ltc_cuda_device_count(&ngpu) != LTC_OK || ngpu < 1);
    if (no_gpu && device_given) {
        fprintf(stderr, "error: --device cuda: LibTorch sees no GPU (check_cuda says why); --device cpu runs it on CPU ranks\n");
        return 1;
    }
    cuda = cuda && !no_gpu;
    nproc = nproc > 0 ? nproc : cuda ? ngpu : 2;
    max_bytes = max_bytes > 0 ? max_bytes : cuda ? 256ll << 20 : 1ll << 20;
    args.want_python = args.want_python && cuda;

    bench_report *rep = bench_report_new("allreduce", "NCCL all-reduce bus bandwidth: ltc (check_cuda's sweep) against torch.distributed", NULL);
    if (!rep)
        return 1;
    bench_report_note(rep, "timing: float32 sum all-reduces, 5 warm-up and 20 timed calls per size, each rank's mean time per "
                           "call averaged over the ranks (as nccl-tests); %d rank%s %s; %d rounds, ours and the peer alternated, "
                           "each a fresh set of ranks; a size's figure is the median of its rounds' times",
                      nproc, nproc == 1 ? "" : "s", cuda ? "one per GPU over NCCL" : "on the CPU through the store", rounds);
    if (!cuda && !no_gpu)
        bench_report_note(rep, "--device cpu: ours on CPU ranks through the store; no peer (peer_allreduce.py runs over NCCL)");
    if (no_gpu)
        bench_report_note(rep, "no GPU: LibTorch sees none (check_cuda says why): ours ran on CPU ranks through the store, "
                               "without the peer");
    if (setenv("NCCL_NVLS_ENABLE", "0", 1) != 0) {
        fprintf(stderr, "bench_allreduce: setenv NCCL_NVLS_ENABLE: %s\n", strerror(errno));
        return 1;
    }
    char dir[] = "/tmp/ltc_bench_allreduce_XXXXXX", tmp[64], max_text[32], nproc_arg[48];
    if (!mkdtemp(dir)) {
        fprintf(stderr, "bench_allreduce: cannot make a scratch folder in /tmp: %s\n", strerror(errno));
        return 1;
    }
    snprintf(tmp, sizeof tmp, "%s/sweep", dir); /* in a folder of our own: no one else's file or link */
    snprintf(max_text, sizeof max_text, "%lld", max_bytes);
    snprintf(nproc_arg, sizeof nproc_arg, "--nproc-per-node=%d", nproc);
    const char *wargv[] = {argv[0], "--worker", tmp, cuda ? "cuda" : "cpu", max_text, NULL};
    char *pargv[] = {(char *)args.python, "-m", "torch.distributed.run", "--standalone", nproc_arg, LTC_BENCH_PEER_ALLREDUCE_PY,
                     "--max-bytes", max_text, NULL};
    static sweep ours[MAXR], peer[MAXR];
    int have_peer = 0, rc = 0;
    for (int r = 0; r < rounds && rc == 0; r++) {
        int code = 0, failed = -1;
        if (unlink(tmp) != 0 && errno != ENOENT) {
            fprintf(stderr, "bench_allreduce: cannot remove %s: %s\n", tmp, strerror(errno));
            rc = 1;
            break;
        }
        fprintf(stderr, "bench_allreduce: round %d of %d\n", r + 1, rounds);
        ltc_launch_options lo = LTC_LAUNCH_OPTIONS_INIT;
        lo.nproc = nproc, lo.argv = wargv, lo.device_type = cuda ? LTC_DEVICE_CUDA : LTC_DEVICE_CPU, lo.timeout_s = 120;
        lo.forward_signals = 1;
        if (ltc_launch_local(&code, &failed, NULL, &lo) != LTC_OK) {
            fprintf(stderr, "bench_allreduce: cannot start %d ranks: %s\n", nproc, ltc_last_error());
            rc = 1;
        } else if (code != 0) {
            fprintf(stderr, "bench_allreduce: rank %d of ours exited %d (its output is above)\n", failed, code);
            rc = 1;
        } else if (read_sweep(tmp, &ours[r]) == 0) {
            fprintf(stderr, "bench_allreduce: rank 0 of ours wrote no sweep into %s\n", tmp);
            rc = 1;
        }
        if (rc != 0)
            break;
        if (args.want_python) {
            code = bench_run(pargv, tmp, 600);
            const char *why = code != 0 ? "failed" : !file_has(tmp, "data check: ok") ? "reported wrong values (its data check)"
                            : read_sweep(tmp, &peer[r]) == 0 ? "wrote no sweep" : NULL;
            if (why) {
                bench_report_note(rep, "the Python peer (%s -m torch.distributed.run ... %s) %s (exit code %d): no "
                                       "side-by-side figures", args.python, LTC_BENCH_PEER_ALLREDUCE_PY, why, code);
                args.want_python = 0;
                have_peer = 0;
            } else {
                have_peer = r + 1;
            }
        }
    }
    if ((unlink(tmp) != 0 && errno != ENOENT) || rmdir(dir) != 0)
        fprintf(stderr, "bench_allreduce: cannot remove the scratch folder %s: %s\n", dir, strerror(errno));

    static const bench_col cols[] = {
        {"bytes", "size", "B", 0, 0},           {"time_us", "ltc time", "us", 1, 0},
        {"algbw_gbps", "ltc algbw", "GB/s", 2, 0}, {"busbw_gbps", "ltc busbw", "GB/s", 2, 0},
        {"peer_time_us", "Python time", "us", 1, 0}, {"peer_busbw_gbps", "Python busbw", "GB/s", 2, 0},
        {"busbw_over_peer", "ltc busbw / Python's", "x", 3, 0}};
    bench_table *tab = bench_report_table(rep, "sweep", "all-reduce by size (median of the rounds)", 7, cols);
    double goal = NAN;
    const double bus = nproc > 1 ? 2.0 * (nproc - 1) / nproc : 0;
    for (int i = 0; i < MAXS && rc == 0 && (8ll << i) <= max_bytes; i++) {
        double t[MAXR], p[MAXR];
        int nt = 0, np = 0;
        for (int r = 0; r < rounds; r++) {
            if (ours[r].time_us[i] > 0)
                t[nt++] = ours[r].time_us[i] * 1e-6;
            if (r < have_peer && peer[r].time_us[i] > 0)
                p[np++] = peer[r].time_us[i] * 1e-6;
        }
        if (nt == 0)
            continue;
        bench_stats st, sp;
        bench_stats_of(&st, t, nt);
        const double bytes = (double)(8ll << i), algbw = bytes / st.median_s / 1e9;
        double peer_bus = NAN, ratio = NAN;
        if (np > 0) {
            bench_stats_of(&sp, p, np);
            peer_bus = bytes / sp.median_s / 1e9 * bus;
            ratio = nproc > 1 ? st.median_s > 0 ? sp.median_s / st.median_s : NAN : NAN;
        }
        bench_table_add(tab, (bench_cell[]){BENCH_NUM(bytes), BENCH_NUM(st.median_s * 1e6), BENCH_NUM(algbw),
                                            BENCH_NUM(algbw * bus), np ? BENCH_NUM(sp.median_s * 1e6) : BENCH_NONE,
                                            np ? BENCH_NUM(peer_bus) : BENCH_NONE, BENCH_NUM(ratio)});
        if ((8ll << i) == 256ll << 20)
            goal = ratio;
        if ((16ll << i) > max_bytes) /* the largest size */
            bench_report_metric(rep, "busbw_gbps_largest", algbw * bus, "GB/s", "ltc bus bandwidth at the largest size");
    }
    if (nproc < 2)
        bench_report_note(rep, "one rank: the bus bandwidth is 0 by its definition (2(n-1)/n); the goal needs 2 or more GPUs");
    bench_report_goal(rep, "busbw_256MiB_over_python", goal);
    int frc = bench_report_finish(rep, &args);
    return rc ? rc : frc;
}

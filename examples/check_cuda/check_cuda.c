/* check_cuda: is the GPU usable from LibTorch, and if not, exactly why?
 *
 * The usual Python check, torch.cuda.is_available(), says yes or no and hides why. This one asks
 * libltc for a diagnosis (ltc_diagnose) and prints the verdict, the one cause and its fix first, then
 * the evidence. Copy it as the start of any program that must know whether it got the GPU. (Here it is
 * built as a module that check_cuda's front, check_cuda/front.c beside it, loads: the front still runs,
 * and explains, when libltc or LibTorch cannot be loaded. As your own program, build it as it is.)
 * Under a launcher (torchrun, srun, mpirun) or with --nproc N, every rank checks its own GPU, then all
 * of them prove an NCCL all-reduce together, and rank 0 prints one table for all (ltc_cluster_check).
 *
 *   check_cuda [--quick] [--json] [--nproc N] [--timeout S]
 */
#include "common.h"

#include <stdlib.h>
#include <string.h>

static const char *usage =
    "usage: check_cuda [--quick] [--json] [--nproc N] [--timeout S]\n"
    "  --quick   skip the proofs by work (a matmul and a cuDNN convolution per GPU, an NCCL all-reduce)\n"
    "  --json    print the whole report as one JSON document\n"
    "  --nproc N check N local ranks, 1 to 4096 and at most one per CPU core this process may use (at least\n"
    "            2: each rank is a process with its own LibTorch), as torchrun --no-python --nproc-per-node N\n"
    "            check_cuda does\n"
    "  --timeout S  under a launcher: how long to wait for a rank or a collective, seconds, above 0 to 1e7\n"
    "            (default 60)\n"
    "exit codes:\n"
    "  0  a GPU is usable\n"
    "  1  the check itself failed\n"
    "  2  bad arguments: an unknown one, a value out of its range, --nproc above the CPU cores\n"
    "  3  LibTorch is CPU-only\n"
    "  4  LibTorch's CUDA half (libtorch_cuda.so) is not loaded\n"
    "  5  no NVIDIA driver\n"
    "  6  a driver problem: too old, stub library, version mismatch, not ready, device nodes, other\n"
    "  7  no visible GPU: none in the machine, or CUDA_VISIBLE_DEVICES hides them\n"
    "  8  the GPU's architecture is not in this LibTorch\n"
    "  9  a proof by work failed: kernel, cuDNN or NCCL (across ranks: the all-reduce)\n"
    "  10 libltc or LibTorch cannot be loaded (a missing library, an undefined symbol, a wrong architecture)\n"
    "  11 the GPU is there but taken or failing: busy, memory held by others, lost, ECC errors\n"
    "  12 the ranks do not fit together: one did not join or died, two share a GPU, versions differ\n"
    "  13 LibTorch rejects a PYTORCH_* setting (PYTORCH_CUDA_ALLOC_CONF, ...): correct or unset it\n"
    "under a launcher the code is the worst rank's (the highest)\n";

/* One exit code per kind of cause, so a CI job can branch on it. */
static int exit_code(ltc_cause cause) {
    switch (cause) {
    case LTC_CAUSE_NONE: return 0;
    case LTC_CAUSE_CPU_ONLY_BUILD: return 3;
    case LTC_CAUSE_CUDA_NOT_LINKED: return 4;
    case LTC_CAUSE_NO_DRIVER:
    case LTC_CAUSE_KERNEL_MODULE: return 5;
    case LTC_CAUSE_NO_GPU:
    case LTC_CAUSE_VISIBLE_DEVICES:
    case LTC_CAUSE_OTHER_GPU_VENDOR:
    case LTC_CAUSE_CONTAINER_NO_GPU:
    case LTC_CAUSE_BATCH_NO_GPU:
    case LTC_CAUSE_MIG: return 7;
    case LTC_CAUSE_ARCH_NOT_SUPPORTED: return 8;
    case LTC_CAUSE_CUDNN:
    case LTC_CAUSE_NCCL:
    case LTC_CAUSE_PROOF_FAILED: return 9;
    case LTC_CAUSE_LIBRARY_LOAD: return 10; /* only when the program starts at all: see front.c */
    case LTC_CAUSE_GPU_BUSY:
    case LTC_CAUSE_GPU_MEMORY_TAKEN:
    case LTC_CAUSE_GPU_LOST: return 11;
    case LTC_CAUSE_TORCH_SETTING: return 13;
    default: return 6; /* the driver-level causes, LibTorch mismatched */
    }
}

/* Under a launcher: every rank checks its own GPU; when all are usable they prove an all-reduce and
 * sweep its bandwidth (8 B to 256 MiB); rank 0 prints the table. Every rank returns the worst code. */
static int check_ranks(const ltc_dist_env *env, unsigned flags, int json, double timeout) {
    ltc_cluster_report *report = NULL;
    CHECK(ltc_cluster_check(&report, env, flags, timeout), "check every rank");
    ltc_device gpu = {LTC_DEVICE_CUDA, env->local_rank};
    if (!(flags & LTC_DIAGNOSE_QUICK) && ltc_cluster_report_ready(report))
        ltc_cluster_allreduce_proof(report, gpu, (size_t)256 << 20, timeout); /* a failure is in the report */
    if (env->rank == 0)
        fputs(json ? ltc_cluster_report_json(report) : ltc_cluster_report_text(report), stdout);
    int worst = 0;
    for (int r = 0; r < ltc_cluster_report_rank_count(report); r++) {
        ltc_cluster_rank row;
        CHECK(ltc_cluster_report_rank(&row, report, r), "read a rank's row");
        int code = row.state == LTC_RANK_OK ? 0
                 : row.state == LTC_RANK_GPU_UNUSABLE ? exit_code(row.cause)
                 : row.state == LTC_RANK_COLLECTIVE ? 9 : 12;
        worst = code > worst ? code : worst;
    }
    if (worst == 0 && !ltc_cluster_report_ready(report))
        worst = 9; /* the proof failed without naming a rank: wrong values */
    ltc_cluster_report_free(report);
    return worst;
}

int main(int argc, char **argv) {
    quiet_libtorch_log();
    unsigned flags = 0;
    int json = 0, nproc = 0, nproc_at = 0;
    double timeout = 60;
    for (int i = 1; i < argc; i++) {
        long n = 0;
        if (strcmp(argv[i], "--nproc") == 0 && i + 1 < argc) {
            if (!opt_whole(&n, "--nproc", argv[++i], 1, 4096, "1 to 4096, and at most one per CPU core"))
                return 2;
            nproc = (int)n;
            nproc_at = i;
        } else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
            if (!opt_real(&timeout, "--timeout", argv[++i], 0, 1e7, OPT_LO_OPEN, "seconds, above 0 to 1e7"))
                return 2;
        } else if (strcmp(argv[i], "--quick") == 0) {
            flags |= LTC_DIAGNOSE_QUICK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return close_stdout(0); /* > /dev/full: exit 1 */
        } else {
            fprintf(stderr, "check_cuda: unknown argument \"%s\"\n%s", argv[i], usage);
            return 2;
        }
    }

    ltc_dist_env env;
    CHECK(ltc_dist_env_from(&env, NULL), "read the launcher's variables");
    if (nproc > 0 && env.launcher == LTC_LAUNCHER_NONE) { /* become a launcher: N copies of this program */
        int code = 0, failed_rank = -1;
        ltc_launch_options lo = LTC_LAUNCH_OPTIONS_INIT;
        lo.nproc = nproc, lo.argv = (const char *const *)argv, lo.device_type = LTC_DEVICE_CPU, lo.timeout_s = timeout;
        lo.forward_signals = 1;
        ltc_status s = ltc_launch_local(&code, &failed_rank, NULL, &lo);
        if (s == LTC_ERR_INVALID_ARGUMENT) { /* more ranks than this process may run: nothing was started */
            char valid[600];
            snprintf(valid, sizeof valid, "%s", ltc_last_error());
            opt_invalid("--nproc", argv[nproc_at], valid);
            return 2;
        }
        CHECK(s, "start the ranks");
        return code;
    }
    if (env.launcher != LTC_LAUNCHER_NONE)
        return close_stdout(check_ranks(&env, flags, json, timeout));

    ltc_diagnosis *report = NULL;
    CHECK(ltc_diagnose(&report, flags), "diagnose the GPU");
    fputs(json ? ltc_diagnosis_json(report) : ltc_diagnosis_text(report), stdout);
    int code = exit_code(ltc_diagnosis_cause(report));
    ltc_diagnosis_free(report);
    return close_stdout(code);
}

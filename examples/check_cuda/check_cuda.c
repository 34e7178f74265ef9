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
#include "args.h" /* check_cuda_parse; common.h: CHECK, close_stdout */

#include <stdlib.h>
#include <string.h>

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
    check_cuda_args a;
    if (!check_cuda_parse(&a, argc, argv))
        return 2;
    if (a.help)
        return check_cuda_help(); /* > /dev/full: exit 1 */

    ltc_dist_env env;
    CHECK(ltc_dist_env_from(&env, NULL), "read the launcher's variables");
    if (a.nproc > 0 && env.launcher == LTC_LAUNCHER_NONE) { /* become a launcher: N copies of this program */
        int code = 0, failed_rank = -1;
        ltc_launch_options lo = LTC_LAUNCH_OPTIONS_INIT;
        lo.nproc = a.nproc, lo.argv = (const char *const *)argv, lo.device_type = LTC_DEVICE_CPU, lo.timeout_s = a.timeout;
        lo.forward_signals = 1;
        ltc_status s = ltc_launch_local(&code, &failed_rank, NULL, &lo);
        if (s == LTC_ERR_INVALID_ARGUMENT) { /* more ranks than this process may run: nothing was started */
            char valid[600];
            snprintf(valid, sizeof valid, "%s", ltc_last_error());
            opt_invalid("--nproc", a.nproc_text, valid);
            return 2;
        }
        CHECK(s, "start the ranks");
        return code;
    }
    if (env.launcher != LTC_LAUNCHER_NONE)
        return close_stdout(check_ranks(&env, a.flags, a.json, a.timeout));

    ltc_diagnosis *report = NULL;
    CHECK(ltc_diagnose(&report, a.flags), "diagnose the GPU");
    fputs(a.json ? ltc_diagnosis_json(report) : ltc_diagnosis_text(report), stdout);
    int code = exit_code(ltc_diagnosis_cause(report));
    ltc_diagnosis_free(report);
    return close_stdout(code);
}

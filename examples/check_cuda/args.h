/* check_cuda's command line: its one parser, used by check_cuda.c's main and by the front (front.c),
 * which reads it before libltc is loaded: it refuses bad usage itself, needs --json for the report of a
 * failed load, and gives --help when that load fails (else check_cuda.c's main does, after its check of
 * TORCH_CPP_LOG_LEVEL). */
#ifndef LTC_CHECK_CUDA_ARGS_H
#define LTC_CHECK_CUDA_ARGS_H

#include "common.h" /* opt_whole, opt_real, opt_refused, opt_leftover, close_stdout */

static const char check_cuda_usage[] =
    "usage: check_cuda [--quick] [--json] [--nproc N] [--timeout S]\n"
    "  --quick   skip the proofs by work (a matmul and a cuDNN convolution per GPU, an NCCL all-reduce)\n"
    "  --json    print the whole report as one JSON document\n"
    "  --nproc N check N local ranks, 1 to 4096 and at most one per CPU core this process may use (at least\n"
    "            2: each rank is a process with its own LibTorch), as torchrun --no-python --nproc-per-node N\n"
    "            check_cuda does\n"
    "  --timeout S  under a launcher: how long to wait for a rank or a collective, seconds, above 0 to 1e7\n"
    "            (default 60)\n"
    "  -h, --help  this text\n"
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

typedef struct check_cuda_args {
    unsigned flags;         /* LTC_DIAGNOSE_QUICK with --quick */
    int json;               /* --json */
    int nproc;              /* --nproc N, 0 without it */
    const char *nproc_text; /* N as written, for the message when the launcher refuses it */
    double timeout;         /* --timeout S (default 60) */
    int help;               /* -h, --help: the rest is not read */
} check_cuda_args;

/* Reads argv into *a: 1 to go on (with a->help, check_cuda_help() is the answer); 0 for bad usage (said
 * on stderr: exit 2). Safe to call again in the same process. */
static int check_cuda_parse(check_cuda_args *a, int argc, char **argv) {
    static const struct option longs[] = {{"quick", no_argument, NULL, 'q'},   {"json", no_argument, NULL, 'j'},
                                          {"nproc", required_argument, NULL, 'n'}, {"timeout", required_argument, NULL, 't'},
                                          {"help", no_argument, NULL, 'h'},    {NULL, 0, NULL, 0}};
    *a = (check_cuda_args){0, 0, 0, NULL, 60, 0};
    optind = 0; /* a whole new scan: the front has read the same argv before */
    for (int c; (c = getopt_long(argc, argv, ":h", longs, NULL)) != -1;) {
        long n = 0;
        switch (c) {
        case 'q': a->flags |= LTC_DIAGNOSE_QUICK; break;
        case 'j': a->json = 1; break;
        case 'n':
            if (!opt_whole(&n, "--nproc", optarg, 1, 4096, "1 to 4096, and at most one per CPU core"))
                return 0;
            a->nproc = (int)n, a->nproc_text = optarg;
            break;
        case 't':
            if (!opt_real(&a->timeout, "--timeout", optarg, 0, 1e7, OPT_LO_OPEN, "seconds, above 0 to 1e7"))
                return 0;
            break;
        case 'h': a->help = 1; return 1;
        default: return opt_refused(c, argv);
        }
    }
    return opt_leftover(argc, argv);
}

/* --help: the usage on stdout; the exit code (1 when it could not be written). */
static int check_cuda_help(void) {
    fputs(check_cuda_usage, stdout);
    return close_stdout(0);
}

#endif

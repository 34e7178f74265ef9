/* check_cuda: is the GPU usable from LibTorch, and if not, exactly why?
 *
 * The seed's version printed "CUDA is available" or "please check your CUDA installation". This one asks
 * libltc for a diagnosis (ltc_diagnose) and prints the verdict, the one cause and its fix first, then
 * the evidence. Copy it as the start of any program that must know whether it got the GPU. (Here it is
 * built as a module that check_cuda's front, shim/src/check_cuda_front.c, loads: the front still runs,
 * and explains, when libltc or LibTorch cannot be loaded. As your own program, build it as it is.)
 *
 *   check_cuda [--quick] [--json]
 */
#include "common.h"

#include <string.h>

static const char *usage =
    "usage: check_cuda [--quick] [--json]\n"
    "  --quick   skip the proofs by work (a matmul and a cuDNN convolution per GPU, an NCCL all-reduce)\n"
    "  --json    print the whole report as one JSON document\n"
    "exit codes:\n"
    "  0  a GPU is usable\n"
    "  1  the check itself failed\n"
    "  2  bad arguments\n"
    "  3  LibTorch is CPU-only\n"
    "  4  LibTorch's CUDA half (libtorch_cuda.so) is not loaded\n"
    "  5  no NVIDIA driver\n"
    "  6  a driver problem: too old, stub library, version mismatch, not ready, device nodes, other\n"
    "  7  no visible GPU: none in the machine, or CUDA_VISIBLE_DEVICES hides them\n"
    "  8  the GPU's architecture is not in this LibTorch\n"
    "  9  a proof by work failed: kernel, cuDNN or NCCL\n"
    "  10 libltc or LibTorch cannot be loaded (a missing library, an undefined symbol, a wrong architecture)\n"
    "  11 the GPU is there but taken or failing: busy, memory held by others, lost, ECC errors\n";

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
    case LTC_CAUSE_LIBRARY_LOAD: return 10; /* only when the program starts at all: see check_cuda_front.c */
    case LTC_CAUSE_GPU_BUSY:
    case LTC_CAUSE_GPU_MEMORY_TAKEN:
    case LTC_CAUSE_GPU_LOST: return 11;
    default: return 6; /* the driver-level causes, LibTorch mismatched */
    }
}

int main(int argc, char **argv) {
    unsigned flags = 0;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) {
            flags |= LTC_DIAGNOSE_QUICK;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else {
            fprintf(stderr, "check_cuda: unknown argument \"%s\"\n%s", argv[i], usage);
            return 2;
        }
    }

    ltc_diagnosis *report = NULL;
    CHECK(ltc_diagnose(&report, flags), "diagnose the GPU");
    fputs(json ? ltc_diagnosis_json(report) : ltc_diagnosis_text(report), stdout);
    int code = exit_code(ltc_diagnosis_cause(report));
    ltc_diagnosis_free(report);
    return close_stdout(code);
}

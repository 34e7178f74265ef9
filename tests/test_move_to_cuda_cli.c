/* Runs the move_to_cuda example program and checks its exit code and what it prints, for every error a
 * user can reach from its command line. Built twice: as test_move_to_cuda_cli (any machine) and, with
 * MTC_GPU defined, as test_move_to_cuda_cli_gpu (exits 77 without a GPU): every dtype, pinned and
 * pageable, blocking and not, on every visible GPU. MOVE_TO_CUDA_EXE is the program's path. */
#define _POSIX_C_SOURCE 200809L /* popen */
#include "testhelper.h"

#include <sys/wait.h>

static char out[16384];

/* Runs the example with args (stdout and stderr together into out); returns its exit code. */
static int run(const char *args) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", MOVE_TO_CUDA_EXE, args);
    out[0] = '\0';
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* One case: exit code and a piece of the output. */
static void expect(const char *args, int want_rc, const char *want_text) {
    int rc = run(args);
    int ok = rc == want_rc && strstr(out, want_text) != NULL;
    char detail[600];
    snprintf(detail, sizeof detail, "exit %d, wanted %d, with \"%s\" in the output", rc, want_rc, want_text);
    th_report(ok, __FILE__, __LINE__, args, detail);
    if (!ok)
        fprintf(stderr, "  output:\n%s\n", out);
}

#ifndef MTC_GPU
static void test_usage_and_cpu(int ngpu) {
    expect("--help", 0, "exit codes: 0 moved and back, bit-identical; 1 an unexpected error; 2 bad usage; 3 no usable GPU");
    expect("-h", 0, "--non-blocking");
    expect("--device cpu", 0, "PASS: 100x100 float32 tensor moved to cpu and back, bit-identical (40000 bytes)");
    expect("--device cpu --dtype float64 --shape 7x3", 0, "PASS: 7x3 float64 tensor moved to cpu and back, bit-identical (168 bytes)");
    expect("--device cpu --dtype int32 --shape 5", 0, "bit-identical (20 bytes)");
    expect("--device cpu --dtype long --shape 1x1x1x1x1x1x1x2 --non-blocking", 0, "bit-identical (16 bytes)");
    expect("--device cpu", 0, "now lives on: cpu");

    /* options */
    expect("--bogus", 2, "unknown option \"--bogus\" (try --help)");
    expect("--device", 2, "option --device needs a value");
    expect("--device cpu --shape", 2, "option --shape needs a value");
    expect("--dtype", 2, "option --dtype needs a value");
    /* devices */
    expect("--device gpu", 2, "device \"gpu\" is not valid (valid: \"cpu\", \"cuda\" or \"cuda:N\" with N a device index)");
    expect("--device cuda:", 2, "device \"cuda:\" is not valid");
    expect("--device cuda:-1", 2, "device \"cuda:-1\" is not valid");
    expect("--device CUDA:0", 2, "device \"CUDA:0\" is not valid");
    expect("--device cuda:1x", 2, "device \"cuda:1x\" is not valid");
    expect("--device ''", 2, "device \"\" is not valid");
    /* dtypes */
    expect("--device cpu --dtype half", 2, "dtype \"half\" is not valid (valid: float32, float64, int32, int64)");
    /* shapes: zero, negative, malformed, too many sizes, oversized, too large to allocate */
    expect("--device cpu --shape 0x3", 2, "shape \"0x3\" is not valid: each size must be 1 or more");
    expect("--device cpu --shape 100x0", 2, "shape \"100x0\" is not valid: each size must be 1 or more");
    expect("--device cpu --shape -5", 2, "shape \"-5\" is not valid: use sizes joined by x, e.g. 100x100");
    expect("--device cpu --shape 3x-5", 2, "shape \"3x-5\" is not valid");
    expect("--device cpu --shape 10x", 2, "shape \"10x\" is not valid");
    expect("--device cpu --shape ''", 2, "shape \"\" is not valid");
    expect("--device cpu --shape 3,3", 2, "shape \"3,3\" is not valid");
    expect("--device cpu --shape 1x2x3x4x5x6x7x8x9", 2, "shape \"1x2x3x4x5x6x7x8x9\" is not valid: more than 8 sizes");
    expect("--device cpu --shape 100000000000x100000000000x100000000000", 2, "is too large: more than 2^63 bytes");
    expect("--device cpu --shape 99999999999999999999999", 2, "is too large: more than 2^63 bytes");
    /* 4 PiB: past the address space, so the allocation fails under any overcommit setting */
    expect("--device cpu --shape 1024x1024x1024x1024x1024", 5, "out of memory: 4503599627370496 bytes for the host copies");

    if (ngpu == 0) {
        /* no GPU: the failing call's message, which says LibTorch sees none, and exit 3 */
        expect("", 3, "cannot move the tensor to cuda:0: cuda:0 requested, but LibTorch sees no CUDA device");
        expect("--device cuda:7", 3, "cuda:7 requested, but LibTorch sees no CUDA device");
        expect("--device cuda", 3, "cuda requested, but LibTorch sees no CUDA device");
        expect("--device cuda:0", 3, "run check_cuda for the cause and the fix");
        /* ... followed by the diagnosis's one cause and its fix */
        expect("", 3, "\n  why: ");
        expect("--device cuda:0", 3, "\n  fix: ");
        expect("--device cpu --pinned", 3, "cannot make the host tensor: ltc_tensor_pin_memory: pinned host memory needs a usable GPU");
    } else {
        /* a GPU past the count: its index and how many are visible, and exit 4 */
        char args[64], want[128];
        snprintf(args, sizeof args, "--device cuda:%d", ngpu);
        snprintf(want, sizeof want, "cuda:%d is out of range: %d CUDA device%s visible (valid: cuda:0", ngpu, ngpu,
                 ngpu == 1 ? " is" : "s are");
        expect(args, 4, want);
        expect("--device cuda:2147483647 --pinned", 4, "cuda:2147483647 is out of range");
    }
}
#else
static void test_gpu(int ngpu) {
    const char *dtypes[] = {"float32", "float64", "int32", "int64"};
    const char *modes[] = {"", "--pinned", "--non-blocking", "--pinned --non-blocking"};
    char args[256];
    for (size_t d = 0; d < 4; d++)
        for (size_t m = 0; m < 4; m++) {
            snprintf(args, sizeof args, "--device cuda:0 --shape 33x17x5 --dtype %s %s", dtypes[d], modes[m]);
            expect(args, 0, "bit-identical (");
        }
    expect("", 0, "PASS: 100x100 float32 tensor moved to cuda:0 and back, bit-identical (40000 bytes)");
    expect("--pinned", 0, "host tensor:  cpu, pinned memory");
    expect("--pinned --non-blocking", 0, "copy:         non-blocking, then synchronize");
    expect("--non-blocking", 0, "(from pageable memory the host waits anyway)");
    expect("--device cuda", 0, "PASS: 100x100 float32 tensor moved to cuda");
    expect("--pinned --non-blocking --shape 4096x4096", 0, "bit-identical (67108864 bytes)");
    for (int i = 0; i < ngpu; i++) {
        char want[64];
        snprintf(args, sizeof args, "--device cuda:%d --pinned --non-blocking", i);
        snprintf(want, sizeof want, "now lives on: cuda:%d", i);
        expect(args, 0, want);
        snprintf(args, sizeof args, "--device cuda:%d --dtype int64 --shape 1000", i);
        expect(args, 0, want);
    }
}
#endif

int main(void) {
    int ngpu = 0;
    CHECK_OK(ltc_cuda_device_count(&ngpu));
#ifdef MTC_GPU
    th_require_gpu();
    test_gpu(ngpu);
#else
    test_usage_and_cpu(ngpu);
#endif
    return th_finish();
}

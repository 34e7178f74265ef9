/* Runs the move_to_cuda example program and checks its exit code and what it prints, for every error a
 * user can reach from its command line, and a write error on its output. Built twice: as
 * test_move_to_cuda_cli (any machine) and, with MTC_GPU defined, as test_move_to_cuda_cli_gpu (exits 77
 * without a GPU): pinned and pageable, blocking and not, on every visible GPU. MOVE_TO_CUDA_EXE is the
 * program's path. */
#define _POSIX_C_SOURCE 200809L /* popen */
#include "proc_helper.h"

static char out[16384];

/* Runs the example with args (stdout and stderr together into out); returns its exit code. With
 * to_full, stdout goes to /dev/full (every write fails: no space left) and out holds stderr alone. */
static int run_to(const char *args, int to_full) {
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1%s", MOVE_TO_CUDA_EXE, args, to_full ? " >/dev/full" : "");
    return ph_run(cmd, out, sizeof out);
}

/* One case: exit code and a piece of the output. */
static void expect_to(const char *args, int to_full, int want_rc, const char *want_text) {
    int rc = run_to(args, to_full);
    char name[300];
    snprintf(name, sizeof name, "move_to_cuda %s%s", args, to_full ? " >/dev/full" : "");
    ph_check_run(name, rc, want_rc, out, want_text);
}

static void expect(const char *args, int want_rc, const char *want_text) {
    expect_to(args, 0, want_rc, want_text);
}

/* A write error is an error: the lost output is named on stderr, and the exit is 1, not the run's own. */
static void write_errors(const char *ok_args) {
    if (access("/dev/full", W_OK) != 0) {
        SKIP("move_to_cuda's write errors", "no writable /dev/full here");
        return;
    }
    expect_to("--help", 1, 1, "error: cannot write the output: No space left on device");
    expect_to(ok_args, 1, 1, "error: cannot write the output: No space left on device");
}

#ifndef MTC_GPU
static void test_usage_and_cpu(int ngpu) {
    expect("--help", 0, "exit codes: 0 moved and intact; 1 an unexpected error, or the output could not be written;\n"
                        "  2 bad usage; 3 no usable GPU (check_cuda says why); 4 no such GPU");
    expect("-h", 0, "cuda:N, N from 0 to the GPU count - 1 (default cuda:0)");
    expect("--device cpu", 0,
           "PASS: a 100x100 float32 tensor moved to cpu from pageable host memory, blocking: its 40000 bytes arrived intact");
    expect("--device cpu --non-blocking", 0, "moved to cpu from pageable host memory, blocking: its"); /* on the host */
    expect("--non-blocking --device cuda:3 --device cpu", 0, "PASS: a 100x100 float32 tensor moved to cpu"); /* the last wins */
    write_errors("--device cpu");

    /* bad usage is 2 on any machine, and says what was wrong */
    expect("--bogus", 2, "error: unknown option \"--bogus\" (try --help)");
    expect("--shape 10x10", 2, "error: unknown option \"--shape\" (try --help)");
    expect("-x", 2, "error: unknown option \"-x\" (try --help)");
    expect("--pinned=1", 2, "error: option --pinned takes no value (try --help)");
    expect("--device cpu extra", 2, "error: unknown argument \"extra\": the program takes options only (try --help)");
    expect("--device", 2, "error: option --device needs a value (try --help)");
    expect("--device=cpu", 0, "PASS: a 100x100 float32 tensor moved to cpu"); /* getopt_long's other form */
    const char *valid = "is not valid: use cpu, cuda or cuda:N, N from 0 to the GPU count - 1 (try --help)";
    const char *bad[] = {"gpu", "cuda:", "cuda:-1", "CUDA:0", "cuda:1x", "cuda:99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char args[64], want[256];
        snprintf(args, sizeof args, "--device %s", bad[i]);
        snprintf(want, sizeof want, "error: --device %s %s", bad[i], valid);
        expect(args, 2, want);
    }
    expect("--device ''", 2, "error: --device \"\" is not valid: use cpu");
    expect("--device gpu --pinned", 2, "(try --help)"); /* refused before anything needs a GPU */

    if (ngpu == 0) {
        /* no usable GPU is 3: LibTorch's message, which says it sees none and points at check_cuda */
        expect("", 3, "error: cannot move x to the device\n  cuda:0 requested, but LibTorch sees no CUDA device");
        expect("", 3, "run check_cuda for the cause and the fix");
        expect("", 3, "[LTC_ERR_CUDA_UNAVAILABLE]");
        expect("--device cuda:7", 3, "cuda:7 requested, but LibTorch sees no CUDA device");
        expect("--device cuda --non-blocking", 3, "cuda requested, but LibTorch sees no CUDA device");
        expect("--device cpu --pinned", 3,
               "error: cannot pin x's memory\n  ltc_tensor_pin_memory: pinned host memory needs a usable GPU");
    } else {
        /* no such GPU is 4: the index and how many are visible */
        char args[64], want[128];
        snprintf(args, sizeof args, "--device cuda:%d", ngpu);
        snprintf(want, sizeof want, "cuda:%d is out of range: %d CUDA device%s visible (valid: cuda:0", ngpu, ngpu,
                 ngpu == 1 ? " is" : "s are");
        expect(args, 4, want);
        expect("--device cuda:2147483647 --pinned --non-blocking", 4, "cuda:2147483647 is out of range");
    }
}
#else
static void test_gpu(int ngpu) {
    const char *modes[] = {"", "--pinned", "--non-blocking", "--pinned --non-blocking"};
    const char *says[] = {"pageable host memory, blocking", "pinned host memory, blocking",
                          "pageable host memory, non-blocking, then synchronized",
                          "pinned host memory, non-blocking, then synchronized"};
    char args[256], want[256];
    expect("", 0, "PASS: a 100x100 float32 tensor moved to cuda:0 from pageable host memory, blocking: its 40000 bytes arrived intact");
    expect("--device cuda", 0, "PASS: a 100x100 float32 tensor moved to cuda:0"); /* the current GPU */
    for (int i = 0; i < ngpu; i++)
        for (int m = 0; m < 4; m++) {
            snprintf(args, sizeof args, "--device cuda:%d %s", i, modes[m]);
            snprintf(want, sizeof want, "PASS: a 100x100 float32 tensor moved to cuda:%d from %s: its 40000 bytes arrived intact",
                     i, says[m]);
            expect(args, 0, want);
        }
    snprintf(args, sizeof args, "--device cuda:%d --pinned", ngpu);
    expect(args, 4, "is out of range");
    write_errors("--pinned --non-blocking");
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

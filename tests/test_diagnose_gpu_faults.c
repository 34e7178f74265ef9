/* The diagnosis on a GPU, with faults injected, check_cuda run as a user runs it:
 *   1. a PYTORCH_CUDA_ALLOC_CONF that LibTorch rejects: an unknown key, read up front (also with --quick),
 *      and a CUDA-only key's bad value, which only a CUDA allocation reads: the proof by work meets it;
 *   2. another process (this program with --hold) holds nearly all of the GPU's memory: the verdict keeps
 *      the first line of LibTorch's error, names the holder (PID, name, MiB) on the line after the
 *      verdict, and keeps LibTorch's whole text in the evidence and the JSON.
 * The holder is ended at the end (and ends itself within 5 minutes, whatever happens). Needs a GPU (exits
 * 77 without one); fills it, so it runs alone (RUN_SERIAL). */
#define _DEFAULT_SOURCE
#include "proc_helper.h"

#include <stdint.h>

#ifndef LTC_TEST_CHECK_CUDA
#error "LTC_TEST_CHECK_CUDA: the check_cuda program"
#endif

#define MAX_CHUNKS 8192
static char out[1 << 17];

/* check_cuda with `env` (assignments for env(1)) and args, its stdout and stderr in out; its exit code.
 * None of the allocator settings of the environment the tests run in, and never longer than 4 minutes. */
static int check_cuda(const char *env, const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "env -u PYTORCH_CUDA_ALLOC_CONF -u PYTORCH_ALLOC_CONF -u PYTORCH_HIP_ALLOC_CONF %s timeout -k 10 240 '%s' %s 2>&1", env,
             LTC_TEST_CHECK_CUDA, args);
    return ph_run(cmd, out, sizeof out);
}

/* Line n (0-based) of out, into line. */
static const char *line_of(int n, char *line, size_t cap) {
    const char *p = out;
    for (int i = 0; i < n && p; i++)
        p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    line[0] = '\0';
    if (p) {
        size_t len = strcspn(p, "\n");
        snprintf(line, cap, "%.*s", (int)(len < cap ? len : cap - 1), p);
    }
    return line;
}

static void rejected_settings(void) {
    char line[1024];
    /* an unknown key: LibTorch's parser, read up front, rejects it */
    const char *args[] = {"--quick", ""};
    for (int i = 0; i < 2; i++) {
        int rc = check_cuda("PYTORCH_CUDA_ALLOC_CONF=bogus_key:1", args[i]);
        char name[128];
        snprintf(name, sizeof name, "an unknown key, check_cuda %s: exit 13, LTC_CAUSE_TORCH_SETTING", args[i]);
        ph_check_run(name, rc, 13, out, "GPU usable: NO: a PyTorch setting that LibTorch rejects [LTC_CAUSE_TORCH_SETTING]\n");
        ph_report(strstr(line_of(1, line, sizeof line),
                         "LibTorch rejects PYTORCH_CUDA_ALLOC_CONF=\"bogus_key:1\", and every CUDA allocation fails: Unrecognized key "
                         "'bogus_key' in Accelerator allocator config.") != NULL,
                  "the line after the verdict names the variable, its value and LibTorch's words", "line 2", out);
        ph_report(strstr(line_of(2, line, sizeof line), "fix: unset PYTORCH_CUDA_ALLOC_CONF, or correct it") != NULL &&
                      strstr(out, "CUDA_LAUNCH_BLOCKING") == NULL,
                  "then the fix: unset or correct it (no word of CUDA_LAUNCH_BLOCKING)", "line 3", out);
    }
    /* a CUDA-only key's value: the device-generic parser, read up front, passes it; the first CUDA
     * allocation, in the proof by work, rejects it */
    int rc = check_cuda("PYTORCH_CUDA_ALLOC_CONF=per_process_memory_fraction:2", "--json");
    ph_check_run("a bad per_process_memory_fraction met by the matmul: exit 13", rc, 13, out, "\"code\": \"LTC_CAUSE_TORCH_SETTING\"");
    ph_report(strstr(out, "LibTorch rejects PYTORCH_CUDA_ALLOC_CONF=\\\"per_process_memory_fraction:2\\\"") != NULL &&
                  strstr(out, "per_process_memory_fraction is invalid") != NULL &&
                  strstr(out, "a 64x64 matmul on cuda:0 failed: per_process_memory_fraction is invalid") != NULL,
              "its message names the setting and LibTorch's words; the evidence, the matmul", "JSON", out);
    /* a good setting is no finding */
    rc = check_cuda("PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True", "--quick");
    ph_check_run("a good setting: usable", rc, 0, out, "GPU usable: yes");
}

/* The holder (this program run with --hold): fills cuda:0 until it says no (1 GiB, then 64 MiB, then
 * 2 MiB at a time), says so, and waits to be ended: at most 5 minutes, so that it never outlives a test
 * that died. */
static int hold_gpu(void) {
    static ltc_tensor *chunks[MAX_CHUNKS];
    int n = 0;
    const int64_t sizes[] = {(int64_t)1 << 28, (int64_t)1 << 24, (int64_t)1 << 19}; /* float32 elements */
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        while (n < MAX_CHUNKS && ltc_tensor_empty(&chunks[n], &sizes[s], 1, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CUDA, 0}, 0) == LTC_OK)
            n++;
    printf("holding %d chunks of cuda:0\n", n);
    fflush(stdout);
    sleep(300);
    return 0;
}

static void memory_taken(const char *self) {
    char cmd[4200], held[4096], line[2048], pid[32];
    snprintf(cmd, sizeof cmd, "exec '%s' --hold", self);
    ph_job holder = ph_start(cmd, held, sizeof held);
    int holding = holder.pid > 0 && ph_wait_for(&holder, "holding", 120) && !strstr(held, "holding 0 chunks");
    ph_report(holding, "another process holds the GPU's memory", "the holder", held);
    if (!holding) {
        if (holder.pid > 0)
            kill(holder.pid, SIGTERM);
        ph_finish(&holder, 30, NULL);
        return;
    }
    snprintf(pid, sizeof pid, "PID %d (", (int)holder.pid);
    int rc = check_cuda("", "");
    ph_check_run("memory held by another process: exit 11, LTC_CAUSE_GPU_MEMORY_TAKEN", rc, 11, out,
                 "GPU usable: NO: GPU memory held by other processes [LTC_CAUSE_GPU_MEMORY_TAKEN]\n");
    line_of(1, line, sizeof line);
    ph_report(strstr(line, "a 64x64 matmul on cuda:0 failed: CUDA error: out of memory") != NULL,
              "the line after the verdict: the proof and LibTorch's first line", line, out);
    if (!strstr(line, pid) && !strstr(out, pid)) {
        /* NVML lists no process of the holder's here (a PID namespace it does not share): nothing to check */
        th_skipped++;
        printf("skipped: NVML does not list the holder (%s...), so its name cannot be checked\n", pid);
    } else {
        ph_report(strstr(line, pid) && strstr(line, "test_diagnose_g") && strstr(line, " MiB)"),
                  "that line names the holder: its PID, name and MiB", line, out);
    }
    ph_report(strncmp(line_of(2, line, sizeof line), "  fix: ", 7) == 0, "then the fix, on the third line", line, out);
    /* LibTorch's whole text: below, in the evidence, never in the first lines */
    const char *search = strstr(out, "Search for `cudaErrorMemoryAllocation'");
    const char *evidence = strstr(out, "\nevidence ");
    ph_report(search && evidence && search > evidence, "LibTorch's whole five-line text is in the evidence, below", "evidence", out);
    rc = check_cuda("", "--json");
    ph_check_run("the JSON: the same cause, exit 11", rc, 11, out, "\"code\": \"LTC_CAUSE_GPU_MEMORY_TAKEN\"");
    ph_report(strstr(out, "\"message\": \"a 64x64 matmul on cuda:0 failed: CUDA error: out of memory") != NULL &&
                  strstr(out, "out of memory\\nSearch for `cudaErrorMemoryAllocation'") != NULL,
              "the JSON: the message's first line, the whole text in the evidence", "JSON", out);
    kill(holder.pid, SIGTERM);
    ph_finish(&holder, 60, NULL);
    /* the memory comes back with the holder's end: usable again (the driver may take a moment) */
    for (int i = 0; i < 10 && (rc = check_cuda("", "--quick")) != 0; i++)
        sleep(1);
    ph_check_run("the holder gone: usable again", rc, 0, out, "GPU usable: yes");
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--hold") == 0)
        return hold_gpu();
    th_require_gpu();
    rejected_settings();
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK("this program's path", n > 0);
    if (n > 0) {
        self[n] = '\0';
        memory_taken(self);
    }
    return th_finish();
}

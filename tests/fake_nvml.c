/* A fake NVIDIA management library (libnvidia-ml.so.1) for fault injection, beside the fake libcuda.so.1
 * (tests/fake_libcuda.c) on LD_LIBRARY_PATH. Its answers, from environment variables:
 *   LTC_FAKE_NVML_INIT=N       nvmlInit_v2 returns N (default 0)
 *   LTC_FAKE_GPUS=N            GPUs (default 1), as the fake libcuda
 *   LTC_FAKE_NVML_LOST=I       GPU I is lost (nvmlDeviceGetHandleByIndex_v2 answers 15, GPU_IS_LOST)
 *   LTC_FAKE_NVML_MODE=M       compute mode of every GPU (0 default, 2 prohibited, 3 exclusive process)
 *   LTC_FAKE_NVML_MIG=1        MIG mode on
 *   LTC_FAKE_NVML_FREE_MIB=N   free memory of each GPU (default 80000 of 81920 MiB)
 *   LTC_FAKE_NVML_PROCS=P:M,.. compute processes on each GPU: PID P using M MiB
 *   LTC_FAKE_NVML_ECC=N        uncorrected volatile ECC errors (default 0)
 * Driver version "580.65.06". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int env_int(const char *name, int dflt) {
    const char *v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

typedef struct {
    unsigned long long total, free, used;
} nvml_memory;
typedef struct {
    unsigned pid;
    unsigned long long used;
    unsigned gi, ci;
} nvml_process;

int nvmlInit_v2(void) { return env_int("LTC_FAKE_NVML_INIT", 0); }
int nvmlShutdown(void) { return 0; }
int nvmlSystemGetDriverVersion(char *v, unsigned n) {
    snprintf(v, n, "580.65.06");
    return 0;
}
int nvmlDeviceGetCount_v2(unsigned *n) {
    *n = (unsigned)env_int("LTC_FAKE_GPUS", 1);
    return 0;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **dev) {
    if ((int)i >= env_int("LTC_FAKE_GPUS", 1))
        return 2;
    if (env_int("LTC_FAKE_NVML_LOST", -1) == (int)i)
        return 15;
    *dev = (void *)(unsigned long)(i + 1);
    return 0;
}
static unsigned index_of(void *dev) { return (unsigned)((unsigned long)dev - 1); }
int nvmlDeviceGetName(void *dev, char *name, unsigned n) {
    snprintf(name, n, "Fake GPU %u", index_of(dev));
    return 0;
}
int nvmlDeviceGetUUID(void *dev, char *uuid, unsigned n) {
    snprintf(uuid, n, "GPU-00000000-0000-0000-0000-%012u", index_of(dev));
    return 0;
}
int nvmlDeviceGetComputeMode(void *dev, int *mode) {
    (void)dev;
    *mode = env_int("LTC_FAKE_NVML_MODE", 0);
    return 0;
}
int nvmlDeviceGetMigMode(void *dev, unsigned *cur, unsigned *pend) {
    (void)dev;
    *cur = *pend = (unsigned)env_int("LTC_FAKE_NVML_MIG", 0);
    return 0;
}
int nvmlDeviceGetMemoryInfo(void *dev, nvml_memory *m) {
    (void)dev;
    m->total = 81920ull << 20;
    m->free = (unsigned long long)env_int("LTC_FAKE_NVML_FREE_MIB", 80000) << 20;
    m->used = m->total - m->free;
    return 0;
}
int nvmlDeviceGetTotalEccErrors(void *dev, int type, int counter, unsigned long long *n) {
    (void)dev, (void)type, (void)counter;
    *n = (unsigned long long)env_int("LTC_FAKE_NVML_ECC", 0);
    return 0;
}
int nvmlDeviceGetComputeRunningProcesses_v3(void *dev, unsigned *count, nvml_process *out) {
    (void)dev;
    const char *p = getenv("LTC_FAKE_NVML_PROCS");
    unsigned n = 0;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", p ? p : "");
    for (char *tok = strtok(buf, ","); tok && n < *count; tok = strtok(NULL, ",")) {
        unsigned pid = 0, mib = 0;
        if (sscanf(tok, "%u:%u", &pid, &mib) == 2) {
            out[n].pid = pid;
            out[n].used = (unsigned long long)mib << 20;
            out[n].gi = out[n].ci = 0xffffffffu;
            n++;
        }
    }
    *count = n;
    return 0;
}

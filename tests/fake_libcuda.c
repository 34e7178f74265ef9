/* A fake NVIDIA driver (libcuda.so.1) for fault injection: put its folder first on LD_LIBRARY_PATH and
 * set its answers with environment variables:
 *   LTC_FAKE_CUINIT=N           cuInit returns N (forced), whatever the devices
 *   LTC_FAKE_DRIVER_VERSION=N   cuDriverGetVersion answers N (default 13000)
 *   LTC_FAKE_GPUS=N             GPUs in the "machine" (default 1), each "Fake GPU N", sm_90, 132 SMs, 80 GiB
 * Like the real driver it honours CUDA_VISIBLE_DEVICES: ordinals stop at the first invalid entry, a
 * repeated entry empties the set, GPU- UUIDs select by UUID; nothing selected gives cuInit 100
 * (CUDA_ERROR_NO_DEVICE), or 101 (CUDA_ERROR_INVALID_DEVICE) when the first ordinal is out of range.
 * Every other driver entry point is absent or answers CUDA_ERROR_NOT_FOUND (500). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef struct {
    unsigned char bytes[16];
} CUuuid;

static int env_int(const char *name, int dflt) {
    const char *v = getenv(name);
    return v && *v ? atoi(v) : dflt;
}

static int physical(void) { return env_int("LTC_FAKE_GPUS", 1); }

static int visible[64], nvisible = -1;

static CUresult select_devices(void) {
    int n = physical();
    const char *cvd = getenv("CUDA_VISIBLE_DEVICES");
    nvisible = 0;
    if (!cvd) {
        for (int i = 0; i < n && i < 64; i++)
            visible[nvisible++] = i;
        return nvisible ? 0 : 100;
    }
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", cvd);
    int out_of_range = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        int idx = -1;
        if (strncmp(tok, "GPU-", 4) == 0) {
            for (int i = 0; i < n; i++) {
                char uuid[64];
                snprintf(uuid, sizeof uuid, "GPU-00000000-0000-0000-0000-%012d", i);
                if (strcmp(tok, uuid) == 0)
                    idx = i;
            }
        } else if (isdigit((unsigned char)*tok)) {
            idx = atoi(tok);
            if (idx >= n) {
                out_of_range = nvisible == 0;
                break;
            }
        }
        if (idx < 0)
            break;
        for (int k = 0; k < nvisible; k++)
            if (visible[k] == idx) {
                nvisible = 0;
                return 100;
            }
        visible[nvisible++] = idx;
    }
    return nvisible ? 0 : out_of_range ? 101 : 100;
}

CUresult cuInit(unsigned flags) {
    (void)flags;
    CUresult rc = select_devices();
    return getenv("LTC_FAKE_CUINIT") ? env_int("LTC_FAKE_CUINIT", 0) : rc;
}

CUresult cuDriverGetVersion(int *v) {
    *v = env_int("LTC_FAKE_DRIVER_VERSION", 13000);
    return 0;
}

CUresult cuDeviceGetCount(int *n) {
    if (nvisible < 0)
        return 3; /* CUDA_ERROR_NOT_INITIALIZED */
    *n = nvisible;
    return 0;
}

CUresult cuDeviceGet(int *dev, int ordinal) {
    if (ordinal < 0 || ordinal >= nvisible)
        return 101;
    *dev = ordinal;
    return 0;
}

CUresult cuDeviceGetName(char *name, int len, int dev) {
    snprintf(name, (size_t)len, "Fake GPU %d", dev < nvisible && dev >= 0 ? visible[dev] : -1);
    return 0;
}

CUresult cuDeviceGetAttribute(int *v, int attr, int dev) {
    (void)dev;
    *v = attr == 75 ? 9 : attr == 76 ? 0 : attr == 16 ? 132 : 0;
    return 0;
}

CUresult cuDeviceTotalMem_v2(size_t *bytes, int dev) {
    (void)dev;
    *bytes = (size_t)80 << 30;
    return 0;
}

CUresult cuDeviceGetUuid_v2(CUuuid *u, int dev) {
    char text[32];
    snprintf(text, sizeof text, "%012d", dev >= 0 && dev < nvisible ? visible[dev] : 0);
    memset(u->bytes, 0, sizeof u->bytes);
    for (int i = 0; i < 6; i++)
        u->bytes[10 + i] = (unsigned char)(((text[2 * i] - '0') << 4) | (text[2 * i + 1] - '0'));
    return 0;
}

CUresult cuGetErrorName(CUresult rc, const char **name) {
    (void)rc;
    *name = NULL;
    return 1; /* let the caller use its own table */
}

CUresult cuGetProcAddress(const char *sym, void **fn, int version, unsigned long long flags) {
    (void)sym, (void)version, (void)flags;
    *fn = NULL;
    return 500;
}

CUresult cuGetProcAddress_v2(const char *sym, void **fn, int version, unsigned long long flags, void *status) {
    (void)sym, (void)version, (void)flags, (void)status;
    *fn = NULL;
    return 500;
}

CUresult cuGetExportTable(const void **table, const void *id) {
    (void)id;
    *table = NULL;
    return 500;
}

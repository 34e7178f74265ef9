/* The NVIDIA driver, loaded by hand. See cudriver.h. */
#define _GNU_SOURCE
#include "cudriver.h"

#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef struct {
    unsigned char bytes[16];
} CUuuid;

enum { ATTR_SM_COUNT = 16, ATTR_CC_MAJOR = 75, ATTR_CC_MINOR = 76 };

typedef struct {
    int code;
    const char *name;
} code_name;

/* The name of `code` in table[0..n) into buf; "<unknown> <code>" when it has none. */
static const char *name_from_table(const code_name *table, size_t n, int code, const char *unknown, char *buf,
                                   size_t size) {
    for (size_t i = 0; i < n; i++)
        if (table[i].code == code) {
            snprintf(buf, size, "%s", table[i].name);
            return buf;
        }
    snprintf(buf, size, "%s %d", unknown, code);
    return buf;
}

/* dlopen(soname); on failure NULL with dlerror's text in err. On success path is the file the loader
 * picked (its real path). */
static void *open_library(const char *soname, char *err, size_t err_size, char *path, size_t path_size) {
    void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(err, err_size, "%s", e ? e : "unknown dlopen error");
        return NULL;
    }
    struct link_map *lm = NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name) {
        char real[PATH_MAX];
        snprintf(path, path_size, "%s", realpath(lm->l_name, real) ? real : lm->l_name);
    }
    return h;
}

static const code_name known[] = {
    {0, "CUDA_SUCCESS"},
    {1, "CUDA_ERROR_INVALID_VALUE"},
    {2, "CUDA_ERROR_OUT_OF_MEMORY"},
    {3, "CUDA_ERROR_NOT_INITIALIZED"},
    {34, "CUDA_ERROR_STUB_LIBRARY"},
    {35, "CUDA_ERROR_INSUFFICIENT_DRIVER"},
    {46, "CUDA_ERROR_DEVICE_UNAVAILABLE"},
    {100, "CUDA_ERROR_NO_DEVICE"},
    {101, "CUDA_ERROR_INVALID_DEVICE"},
    {102, "CUDA_ERROR_DEVICE_NOT_LICENSED"},
    {209, "CUDA_ERROR_NO_BINARY_FOR_GPU"},
    {214, "CUDA_ERROR_ECC_UNCORRECTABLE"},
    {221, "CUDA_ERROR_JIT_COMPILER_NOT_FOUND"},
    {222, "CUDA_ERROR_UNSUPPORTED_PTX_VERSION"},
    {304, "CUDA_ERROR_OPERATING_SYSTEM"},
    {500, "CUDA_ERROR_NOT_FOUND"},
    {801, "CUDA_ERROR_NOT_SUPPORTED"},
    {802, "CUDA_ERROR_SYSTEM_NOT_READY"},
    {803, "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH"},
    {804, "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE"},
    {999, "CUDA_ERROR_UNKNOWN"},
};

const char *ltc_cudrv_error_name(const ltc_cudrv *drv, int code, char *buf, size_t size) {
    if (drv && drv->handle) {
        CUresult (*get_name)(CUresult, const char **) =
            (CUresult(*)(CUresult, const char **))dlsym(drv->handle, "cuGetErrorName");
        const char *name = NULL;
        if (get_name && get_name(code, &name) == 0 && name) {
            snprintf(buf, size, "%s", name);
            return buf;
        }
    }
    return name_from_table(known, sizeof known / sizeof known[0], code, "CUresult", buf, size);
}

/* Declares `name` as a pointer to the driver's function of that name (NULL when absent). */
#define LOAD(name, args) CUresult(*name) args = (CUresult(*) args)dlsym(h, #name)

void ltc_cudrv_probe(ltc_cudrv *out) {
    memset(out, 0, sizeof *out);
    out->init_rc = -1;
    out->count = -1;
    out->count_rc = -1;
    void *h = open_library("libcuda.so.1", out->dlerror, sizeof out->dlerror, out->path, sizeof out->path);
    if (!h)
        return;
    out->loaded = 1;
    out->handle = h;
    LOAD(cuInit, (unsigned));
    LOAD(cuDriverGetVersion, (int *));
    LOAD(cuDeviceGetCount, (int *));
    LOAD(cuDeviceGet, (CUdevice *, int));
    LOAD(cuDeviceGetName, (char *, int, CUdevice));
    LOAD(cuDeviceGetAttribute, (int *, int, CUdevice));
    LOAD(cuDeviceTotalMem_v2, (size_t *, CUdevice));
    CUresult (*uuid_fn)(CUuuid *, CUdevice) = (CUresult(*)(CUuuid *, CUdevice))dlsym(h, "cuDeviceGetUuid_v2");
    if (!uuid_fn)
        uuid_fn = (CUresult(*)(CUuuid *, CUdevice))dlsym(h, "cuDeviceGetUuid");
    if (cuDriverGetVersion) {
        int v = 0;
        if (cuDriverGetVersion(&v) == 0)
            out->version = v;
    }
    if (!cuInit) {
        snprintf(out->dlerror, sizeof out->dlerror, "%s has no cuInit symbol", out->path);
        return;
    }
    out->init_rc = cuInit(0);
    if (out->init_rc != 0 || !cuDeviceGetCount)
        return;
    int n = 0;
    out->count_rc = cuDeviceGetCount(&n);
    if (out->count_rc != 0)
        return;
    out->count = n;
    out->ndev = n < LTC_CUDRV_MAX_DEVICES ? n : LTC_CUDRV_MAX_DEVICES;
    for (int i = 0; i < out->ndev; i++) {
        ltc_cudrv_device *d = &out->dev[i];
        CUdevice dev = i;
        if (cuDeviceGet && cuDeviceGet(&dev, i) != 0)
            continue;
        if (cuDeviceGetName)
            cuDeviceGetName(d->name, (int)sizeof d->name, dev);
        if (cuDeviceGetAttribute) {
            cuDeviceGetAttribute(&d->major, ATTR_CC_MAJOR, dev);
            cuDeviceGetAttribute(&d->minor, ATTR_CC_MINOR, dev);
            cuDeviceGetAttribute(&d->sm_count, ATTR_SM_COUNT, dev);
        }
        if (cuDeviceTotalMem_v2)
            cuDeviceTotalMem_v2(&d->memory, dev);
        CUuuid u;
        if (uuid_fn && uuid_fn(&u, dev) == 0) {
            const unsigned char *b = u.bytes;
            snprintf(d->uuid, sizeof d->uuid,
                     "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
                     b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
        }
    }
}

/* ---- NVML ---------------------------------------------------------------------------------------- */

typedef void *nvmlDevice_t;
typedef struct {
    unsigned long long total, free, used;
} nvml_memory;
typedef struct { /* nvmlProcessInfo_t of the _v2/_v3 calls */
    unsigned pid;
    unsigned long long used;
    unsigned gpu_instance, compute_instance;
} nvml_process;

static const code_name nvml_known[] = {
    {0, "NVML_SUCCESS"},
    {1, "NVML_ERROR_UNINITIALIZED"},
    {2, "NVML_ERROR_INVALID_ARGUMENT"},
    {3, "NVML_ERROR_NOT_SUPPORTED"},
    {4, "NVML_ERROR_NO_PERMISSION"},
    {6, "NVML_ERROR_NOT_FOUND"},
    {7, "NVML_ERROR_INSUFFICIENT_SIZE"},
    {9, "NVML_ERROR_DRIVER_NOT_LOADED"},
    {12, "NVML_ERROR_LIBRARY_NOT_FOUND"},
    {15, "NVML_ERROR_GPU_IS_LOST"},
    {17, "NVML_ERROR_OPERATING_SYSTEM"},
    {18, "NVML_ERROR_LIB_RM_VERSION_MISMATCH"},
    {999, "NVML_ERROR_UNKNOWN"},
};

const char *ltc_nvml_error_name(int code, char *buf, size_t size) {
    return name_from_table(nvml_known, sizeof nvml_known / sizeof nvml_known[0], code, "nvmlReturn_t", buf, size);
}

#define NVML(name, args) int(*name) args = (int(*) args)dlsym(h, #name)

static void nvml_device(void *h, unsigned index, ltc_nvml_device *d) {
    NVML(nvmlDeviceGetHandleByIndex_v2, (unsigned, nvmlDevice_t *));
    NVML(nvmlDeviceGetName, (nvmlDevice_t, char *, unsigned));
    NVML(nvmlDeviceGetUUID, (nvmlDevice_t, char *, unsigned));
    NVML(nvmlDeviceGetComputeMode, (nvmlDevice_t, int *));
    NVML(nvmlDeviceGetMigMode, (nvmlDevice_t, unsigned *, unsigned *));
    NVML(nvmlDeviceGetMemoryInfo, (nvmlDevice_t, nvml_memory *));
    NVML(nvmlDeviceGetTotalEccErrors, (nvmlDevice_t, int, int, unsigned long long *));
    NVML(nvmlDeviceGetComputeRunningProcesses_v3, (nvmlDevice_t, unsigned *, nvml_process *));
    NVML(nvmlDeviceGetComputeRunningProcesses_v2, (nvmlDevice_t, unsigned *, nvml_process *));
    NVML(nvmlSystemGetProcessName, (unsigned, char *, unsigned));
    d->compute_mode = d->mig_current = d->mig_pending = -1;
    d->ecc_uncorrected = -1;
    d->procs_rc = -1;
    nvmlDevice_t dev = NULL;
    d->handle_rc = nvmlDeviceGetHandleByIndex_v2 ? nvmlDeviceGetHandleByIndex_v2(index, &dev) : 999;
    if (d->handle_rc != 0)
        return;
    if (nvmlDeviceGetName)
        nvmlDeviceGetName(dev, d->name, (unsigned)sizeof d->name);
    if (nvmlDeviceGetUUID)
        nvmlDeviceGetUUID(dev, d->uuid, (unsigned)sizeof d->uuid);
    int mode = -1;
    if (nvmlDeviceGetComputeMode && nvmlDeviceGetComputeMode(dev, &mode) == 0)
        d->compute_mode = mode;
    unsigned cur = 0, pend = 0;
    if (nvmlDeviceGetMigMode && nvmlDeviceGetMigMode(dev, &cur, &pend) == 0) {
        d->mig_current = (int)cur;
        d->mig_pending = (int)pend;
    }
    nvml_memory m;
    if (nvmlDeviceGetMemoryInfo && nvmlDeviceGetMemoryInfo(dev, &m) == 0) {
        d->memory_known = 1;
        d->memory_total = m.total;
        d->memory_free = m.free;
        d->memory_used = m.used;
    }
    unsigned long long ecc = 0;
    if (nvmlDeviceGetTotalEccErrors && nvmlDeviceGetTotalEccErrors(dev, 1 /* uncorrected */, 0 /* volatile */, &ecc) == 0)
        d->ecc_uncorrected = (long long)ecc;
    int (*procs)(nvmlDevice_t, unsigned *, nvml_process *) =
        nvmlDeviceGetComputeRunningProcesses_v3 ? nvmlDeviceGetComputeRunningProcesses_v3 : nvmlDeviceGetComputeRunningProcesses_v2;
    if (procs) {
        nvml_process list[64];
        unsigned n = 64;
        d->procs_rc = procs(dev, &n, list);
        if (d->procs_rc == 0)
            for (unsigned i = 0; i < n && d->nprocs < LTC_NVML_MAX_PROCS; i++) {
                d->procs[d->nprocs].pid = list[i].pid;
                d->procs[d->nprocs].used_bytes = list[i].used;
                char *name = d->procs[d->nprocs].name;
                if (!nvmlSystemGetProcessName || nvmlSystemGetProcessName(list[i].pid, name, (unsigned)sizeof d->procs[0].name) != 0)
                    name[0] = '\0';
                name[sizeof d->procs[0].name - 1] = '\0';
                d->nprocs++;
            }
    }
}

void ltc_nvml_probe(ltc_nvml *out) {
    memset(out, 0, sizeof *out);
    out->init_rc = -1;
    out->count = -1;
    out->count_rc = -1;
    void *h = open_library("libnvidia-ml.so.1", out->dlerror, sizeof out->dlerror, out->path, sizeof out->path);
    if (!h)
        return;
    out->loaded = 1;
    NVML(nvmlInit_v2, (void));
    NVML(nvmlShutdown, (void));
    NVML(nvmlSystemGetDriverVersion, (char *, unsigned));
    NVML(nvmlDeviceGetCount_v2, (unsigned *));
    if (!nvmlInit_v2) {
        snprintf(out->dlerror, sizeof out->dlerror, "%s has no nvmlInit_v2 symbol", out->path);
        return;
    }
    out->init_rc = nvmlInit_v2();
    if (out->init_rc != 0)
        return;
    if (nvmlSystemGetDriverVersion && nvmlSystemGetDriverVersion(out->driver_version, (unsigned)sizeof out->driver_version) != 0)
        out->driver_version[0] = '\0';
    unsigned n = 0;
    out->count_rc = nvmlDeviceGetCount_v2 ? nvmlDeviceGetCount_v2(&n) : 999;
    if (out->count_rc == 0) {
        out->count = (int)n;
        out->ndev = n < LTC_CUDRV_MAX_DEVICES ? (int)n : LTC_CUDRV_MAX_DEVICES;
        for (int i = 0; i < out->ndev; i++)
            nvml_device(h, (unsigned)i, &out->dev[i]);
    }
    if (nvmlShutdown)
        nvmlShutdown();
}

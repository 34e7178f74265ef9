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

static const struct {
    int code;
    const char *name;
} known[] = {
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
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].code == code) {
            snprintf(buf, size, "%s", known[i].name);
            return buf;
        }
    snprintf(buf, size, "CUresult %d", code);
    return buf;
}

/* Declares `name` as a pointer to the driver's function of that name (NULL when absent). */
#define LOAD(name, args) CUresult(*name) args = (CUresult(*) args)dlsym(h, #name)

void ltc_cudrv_probe(ltc_cudrv *out) {
    memset(out, 0, sizeof *out);
    out->init_rc = -1;
    out->count = -1;
    out->count_rc = -1;
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(out->dlerror, sizeof out->dlerror, "%s", e ? e : "unknown dlopen error");
        return;
    }
    out->loaded = 1;
    out->handle = h;
    struct link_map *lm = NULL;
    if (dlinfo(h, RTLD_DI_LINKMAP, &lm) == 0 && lm && lm->l_name) {
        char real[PATH_MAX];
        snprintf(out->path, sizeof out->path, "%s", realpath(lm->l_name, real) ? real : lm->l_name);
    }
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

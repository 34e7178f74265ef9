/* cudriver.h: the NVIDIA driver, loaded by hand (dlopen "libcuda.so.1"), as deviceQueryDrv does, so the
 * raw CUresult codes that LibTorch hides are seen. Internal to libltc and ltc-cuda-probe. Plain C. */
#ifndef LTC_CUDRIVER_H
#define LTC_CUDRIVER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LTC_CUDRV_MAX_DEVICES 64

typedef struct ltc_cudrv_device {
    char name[256];
    char uuid[48]; /* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", "" if unknown */
    int major, minor, sm_count;
    size_t memory;
} ltc_cudrv_device;

typedef struct ltc_cudrv {
    int loaded;             /* libcuda.so.1 loaded */
    char dlerror[4352];     /* why not, when not */
    char path[4096];        /* the file the loader picked (its real path) */
    int init_rc;            /* cuInit(0); -1 if not called */
    int version;            /* cuDriverGetVersion, e.g. 13000; 0 if unknown */
    int count_rc, count;    /* cuDeviceGetCount; count -1 if not called */
    int ndev;               /* devices described below (min(count, LTC_CUDRV_MAX_DEVICES)) */
    ltc_cudrv_device dev[LTC_CUDRV_MAX_DEVICES];
    void *handle;
} ltc_cudrv;

/* Loads the driver and queries it; never fails (what went wrong is in the fields). The library stays
 * loaded. */
void ltc_cudrv_probe(ltc_cudrv *out);

/* "CUDA_ERROR_NO_DEVICE" for 100, from the driver when loaded, else from our table; "CUDA_ERROR_<n>"
 * style text in buf for unknown codes. */
const char *ltc_cudrv_error_name(const ltc_cudrv *drv, int code, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif

/* cudriver.h: the NVIDIA driver, loaded by hand (dlopen "libcuda.so.1"), as deviceQueryDrv does, so the
 * raw CUresult codes that LibTorch hides are seen; and its management library (dlopen
 * "libnvidia-ml.so.1", as nvidia-smi does) for what CUDA cannot say: compute mode, MIG, memory held by
 * other processes, lost GPUs. No link dependency on either. Internal to libltc and ltc-cuda-probe. Plain C.
 * Thread-safe: every call fills the caller's struct; nothing is kept between calls but the loaded
 * libraries. */
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

#define LTC_NVML_MAX_PROCS 16

typedef struct ltc_nvml_proc {
    unsigned pid;
    unsigned long long used_bytes; /* ~0ull when NVML cannot say */
    char name[96];                 /* nvmlSystemGetProcessName (often a path); "" when NVML cannot say */
} ltc_nvml_proc;

typedef struct ltc_nvml_device {
    int handle_rc;          /* nvmlDeviceGetHandleByIndex_v2: 0, or 15 NVML_ERROR_GPU_IS_LOST, ... */
    char name[96];
    char uuid[96];
    char pci_bus_id[32];
    int compute_mode;       /* 0 default, 1 exclusive thread, 2 prohibited, 3 exclusive process; -1 unknown */
    int mig_current, mig_pending; /* 1 enabled, 0 disabled, -1 unknown (not supported) */
    int memory_known;
    unsigned long long memory_total, memory_free, memory_used;
    long long ecc_uncorrected; /* volatile uncorrected ECC errors; -1 unknown (not supported) */
    int procs_rc, nprocs;   /* compute processes using the GPU, at most LTC_NVML_MAX_PROCS listed */
    ltc_nvml_proc procs[LTC_NVML_MAX_PROCS];
} ltc_nvml_device;

typedef struct ltc_nvml {
    int loaded;               /* libnvidia-ml.so.1 loaded */
    char dlerror[4352];
    char path[4096];
    int init_rc;              /* nvmlInit_v2; -1 if not called */
    char driver_version[96];  /* nvmlSystemGetDriverVersion, "580.95.05"; "" if unknown */
    int count_rc, count;      /* nvmlDeviceGetCount_v2; count -1 if not called */
    int ndev;
    ltc_nvml_device dev[LTC_CUDRV_MAX_DEVICES];
} ltc_nvml;

/* Loads NVML and reads every GPU's state; never fails (what went wrong is in the fields). Calls
 * nvmlShutdown before returning. Slower than ltc_cudrv_probe on some machines (nvmlInit opens every GPU):
 * the diagnosis calls it only when it needs the answer. */
void ltc_nvml_probe(ltc_nvml *out);

/* "NVML_ERROR_GPU_IS_LOST" for 15, ...; "nvmlReturn_t <n>" text in buf for unknown codes. */
const char *ltc_nvml_error_name(int code, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif

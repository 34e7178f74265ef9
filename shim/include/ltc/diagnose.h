/*
 * ltc/diagnose.h: the GPU diagnosis: why LibTorch can or cannot use a GPU here (check_cuda).
 * Part of the ltc API: include ltc.h (the umbrella), or this header alone. Conventions: see ltc.h.
 */
#ifndef LTC_DIAGNOSE_H
#define LTC_DIAGNOSE_H

#include "ltc/core.h"


#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------ */
/* Diagnosis: why CUDA is or is not usable (check_cuda)                                             */
/* ------------------------------------------------------------------------------------------------ */

/* Why LibTorch can or cannot use a GPU here. Values pinned: never renumbered; new ones are appended. The
 * probes run in layers (LibTorch build, what was loaded, driver libraries, the machine outside the
 * process, devices and visibility, each device, proof by work, loaded libraries); the first layer that
 * fails gives the primary cause. docs/diagnosis.md has one row per cause: how it is detected, the
 * message, the fix and the test that injects it. */
typedef enum ltc_cause {
    LTC_CAUSE_INVALID = -1,              /* no diagnosis: ltc_diagnosis_cause(NULL) */
    LTC_CAUSE_NONE = 0,                  /* a GPU is usable */
    LTC_CAUSE_CPU_ONLY_BUILD = 1,        /* LibTorch was built without CUDA */
    LTC_CAUSE_CUDA_NOT_LINKED = 2,       /* libtorch_cuda.so is on disk but not loaded in this process */
    LTC_CAUSE_NO_DRIVER = 3,             /* libcuda.so.1 (the NVIDIA driver) cannot be loaded */
    LTC_CAUSE_STUB_DRIVER = 4,           /* the CUDA toolkit's stub libcuda was loaded instead of the driver */
    LTC_CAUSE_DRIVER_TOO_OLD = 5,        /* the driver is older than the CUDA LibTorch was built with */
    LTC_CAUSE_PTX_TOO_NEW = 6,           /* CUDA_ERROR_UNSUPPORTED_PTX_VERSION (222) */
    LTC_CAUSE_DRIVER_MISMATCH = 7,       /* kernel module and user-space driver differ (803) */
    LTC_CAUSE_COMPAT_NOT_SUPPORTED = 8,  /* forward-compatibility package on an unsupported GPU (804) */
    LTC_CAUSE_SYSTEM_NOT_READY = 9,      /* NVSwitch system not ready: fabric manager (802) */
    LTC_CAUSE_DEVICE_NODES = 10,         /* /dev/nvidia* missing, unusable or not openable (999, 304, EACCES, EPERM) */
    LTC_CAUSE_DRIVER_ERROR = 11,         /* another error from cuInit or the driver */
    LTC_CAUSE_NO_GPU = 12,               /* no NVIDIA GPU: none on the PCI bus, or the driver sees none */
    LTC_CAUSE_VISIBLE_DEVICES = 13,      /* CUDA_VISIBLE_DEVICES hides the GPUs that exist */
    LTC_CAUSE_ARCH_NOT_SUPPORTED = 14,   /* the GPU's architecture is not in LibTorch's build */
    LTC_CAUSE_CUDNN = 15,                /* cuDNN missing, mismatched or failing */
    LTC_CAUSE_NCCL = 16,                 /* NCCL missing or failing */
    LTC_CAUSE_PROOF_FAILED = 17,         /* a kernel ran but failed or gave a wrong result */
    LTC_CAUSE_LIBTORCH_NO_DEVICE = 18,   /* the driver sees GPUs but LibTorch does not, for a reason not above */
    LTC_CAUSE_DUPLICATE_LIBRARY = 19,    /* two copies of one library loaded (a warning, never the verdict) */
    LTC_CAUSE_LIBRARY_LOAD = 20,         /* libltc or LibTorch cannot be loaded (a missing library, an undefined
                                            symbol, a wrong architecture): only check_cuda's front reports it,
                                            since no ltc function can run then */
    LTC_CAUSE_LIBTORCH_MISMATCH = 21,    /* the LibTorch loaded is not the one libltc was built against */
    LTC_CAUSE_OTHER_GPU_VENDOR = 22,     /* no NVIDIA GPU, but an AMD or Intel one: LibTorch's ROCm or XPU build */
    LTC_CAUSE_CONTAINER_NO_GPU = 23,     /* a container started without GPU access (no /dev/nvidia*) */
    LTC_CAUSE_WSL_DRIVER = 24,           /* WSL2 without the Windows driver's libcuda, or with a Linux one */
    LTC_CAUSE_BATCH_NO_GPU = 25,         /* a batch job (Slurm) that was given no GPU */
    LTC_CAUSE_KERNEL_MODULE = 26,        /* the nvidia kernel module is not loaded (nouveau, Secure Boot) */
    LTC_CAUSE_UVM_MISSING = 27,          /* the nvidia_uvm kernel module is not loaded */
    LTC_CAUSE_GPU_BUSY = 28,             /* exclusive-process or prohibited compute mode, GPU taken (46) */
    LTC_CAUSE_MIG = 29,                  /* MIG mode with no instance CUDA can use */
    LTC_CAUSE_GPU_MEMORY_TAKEN = 30,     /* GPU memory held by other processes (2) */
    LTC_CAUSE_GPU_LOST = 31,             /* GPU lost (NVML) or uncorrectable ECC errors (214) */
    LTC_CAUSE_SUSPECT_VARIABLE = 32,     /* a set variable steers the library whose proof failed (NCCL_*,
                                            CUDNN_*, CUBLAS_*, CUDA_*): a warning, never the verdict */
    LTC_CAUSE_TORCH_SETTING = 33         /* LibTorch rejects a PYTORCH_* setting: an allocator setting
                                            (PYTORCH_CUDA_ALLOC_CONF, PYTORCH_ALLOC_CONF) it cannot parse makes
                                            every CUDA allocation fail; a flag it ignores is a warning */
} ltc_cause;

typedef enum ltc_severity { LTC_SEVERITY_INFO = 0, LTC_SEVERITY_WARNING = 1, LTC_SEVERITY_ERROR = 2 } ltc_severity;

/* Flags for ltc_diagnose(). */
#define LTC_DIAGNOSE_QUICK 1u     /* skip the proofs by work (kernels, cuDNN, NCCL) */
#define LTC_DIAGNOSE_NO_CHILD 2u  /* never start the child process that probes without CUDA_VISIBLE_DEVICES */

typedef struct ltc_diagnosis ltc_diagnosis;

/* One finding behind the verdict. The strings are borrowed from the diagnosis and live as long as it. */
typedef struct ltc_finding {
    ltc_cause code;
    ltc_severity severity;
    const char *message; /* what is wrong (or what was seen), one sentence */
    const char *fix;     /* what to do; "" when nothing */
    const char *evidence;/* the raw facts it rests on: codes, paths, values */
} ltc_finding;

/*! Probes why LibTorch can or cannot use a GPU in this process and returns the report in *out, a new
 *  handle owned by the caller (ltc_diagnosis_free). flags: 0 or LTC_DIAGNOSE_* or'ed; other bits ->
 *  LTC_ERR_INVALID_ARGUMENT. A GPU problem is a result, not an error: the call returns LTC_OK with the
 *  cause in the report. It loads libcuda.so.1 itself to read the driver's raw codes, and compares
 *  CUDA_VISIBLE_DEVICES settings in a child process, so the caller's process is not altered. When an
 *  allocator setting is set (PYTORCH_CUDA_ALLOC_CONF, PYTORCH_ALLOC_CONF), it is read through LibTorch's
 *  own parser, as LibTorch's first CUDA allocation (and a proof by work) reads it. Takes
 *  about 1 s with the proofs by work. Thread-safe: several threads may diagnose at once (their proofs by
 *  work take turns). */
LTC_API ltc_status ltc_diagnose(ltc_diagnosis **out, unsigned flags);
/*! NULL is a no-op. */
LTC_API void ltc_diagnosis_free(ltc_diagnosis *diagnosis);

/*! 1 if a GPU is usable (the cause is LTC_CAUSE_NONE), else 0 (also for NULL). */
LTC_API int ltc_diagnosis_usable(const ltc_diagnosis *diagnosis);
/*! The primary cause (LTC_CAUSE_NONE when usable). NULL gives LTC_CAUSE_INVALID (never LTC_CAUSE_NONE,
 *  which means usable) and sets ltc_last_error(). */
LTC_API ltc_cause ltc_diagnosis_cause(const ltc_diagnosis *diagnosis);
/*! The primary finding: its message and fix. Borrowed; never NULL ("" for a NULL diagnosis). */
LTC_API const char *ltc_diagnosis_message(const ltc_diagnosis *diagnosis);
LTC_API const char *ltc_diagnosis_fix(const ltc_diagnosis *diagnosis);
/*! Number of findings (0 for NULL). */
LTC_API size_t ltc_diagnosis_finding_count(const ltc_diagnosis *diagnosis);
/*! Finding `index` (0 .. count-1) into *out; strings borrowed from the diagnosis. Index out of range ->
 *  LTC_ERR_INVALID_ARGUMENT naming the index and the count. */
LTC_API ltc_status ltc_diagnosis_finding(ltc_finding *out, const ltc_diagnosis *diagnosis, size_t index);
/*! One fact by its JSON path, as text: e.g. "driver.version" -> "13000", "driver.library",
 *  "devices.0.name", "visibility.count_without_it", "libtorch.device_count". NULL when the report has no
 *  such fact (or it is JSON null). Borrowed from the diagnosis. */
LTC_API const char *ltc_diagnosis_get(const ltc_diagnosis *diagnosis, const char *key);
/*! The whole report as one JSON document, and as readable text (verdict, cause and fix first, then the
 *  evidence). Borrowed from the diagnosis; never NULL ("" for NULL). */
LTC_API const char *ltc_diagnosis_json(const ltc_diagnosis *diagnosis);
LTC_API const char *ltc_diagnosis_text(const ltc_diagnosis *diagnosis);

/*! "LTC_CAUSE_NO_DRIVER" for LTC_CAUSE_NO_DRIVER, etc.; "LTC_CAUSE_UNKNOWN" for other values. Static. */
LTC_API const char *ltc_cause_name(ltc_cause cause);
/*! A few words for people: "no NVIDIA driver", "CUDA_VISIBLE_DEVICES hides the GPUs", ... Static. */
LTC_API const char *ltc_cause_summary(ltc_cause cause);


#ifdef __cplusplus
}
#endif

#endif /* LTC_DIAGNOSE_H */

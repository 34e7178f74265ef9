/* A program whose LibTorch CUDA half was dropped by the linker (--as-needed): the diagnosis must say so,
 * not "CPU-only" and not "no driver". */
#include "testhelper.h"

#include <dlfcn.h>

int main(void) {
    void *h = dlopen("libtorch_cuda.so", RTLD_LAZY | RTLD_NOLOAD);
    CHECK("the linker really dropped libtorch_cuda.so", h == NULL);
    CHECK("LibTorch then reports no GPU", ltc_cuda_is_available() == 0);
    ltc_diagnosis *d = NULL;
    CHECK_OK(ltc_diagnose(&d, LTC_DIAGNOSE_QUICK));
    CHECK("cause: CUDA half not loaded", ltc_diagnosis_cause(d) == LTC_CAUSE_CUDA_NOT_LINKED);
    CHECK("message", strstr(ltc_diagnosis_message(d), "its CUDA half is not loaded") != NULL);
    CHECK("fix names the linker flag", strstr(ltc_diagnosis_fix(d), "-Wl,--no-as-needed -ltorch_cuda") != NULL);
    const char *on_disk = ltc_diagnosis_get(d, "build.libtorch_cuda_on_disk");
    CHECK("libtorch_cuda.so on disk", on_disk && strcmp(on_disk, "true") == 0);
    CHECK("not usable", !ltc_diagnosis_usable(d));
    ltc_diagnosis_free(d);
    return th_finish();
}

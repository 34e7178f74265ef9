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
    /* this test library's "built against" is made up (tests/check_cuda.cmake): the loaded one is named */
    int mismatch = 0;
    for (size_t i = 0; i < ltc_diagnosis_finding_count(d); i++) {
        ltc_finding f;
        CHECK_OK(ltc_diagnosis_finding(&f, d, i));
        if (f.code == LTC_CAUSE_LIBTORCH_MISMATCH)
            mismatch = f.severity == LTC_SEVERITY_WARNING && strstr(f.message, "built against LibTorch 2.0.0 in /opt/ltc-test/other-libtorch/lib") &&
                       strstr(f.message, "but LibTorch " LTC_TEST_TORCH_VERSION " was loaded from");
    }
    CHECK("built against one LibTorch, loaded another: a finding", mismatch);
    const char *built = ltc_diagnosis_get(d, "build.built_against.torch_version");
    CHECK("facts: built against", built && strcmp(built, "2.0.0") == 0);
    ltc_diagnosis_free(d);
    return th_finish();
}

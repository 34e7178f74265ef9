/* Prints what the installed libltc reports, for tests/package/run.cmake to compare with the build tree. */
#include <ltc.h>

#include <stdio.h>

int main(void) {
    ltc_build_info info;
    if (ltc_build_info_get(&info) != LTC_OK) {
        fprintf(stderr, "ltc_build_info_get: %s\n", ltc_last_error());
        return 1;
    }
    if (ltc_version_number() != LTC_VERSION_NUMBER) {
        fprintf(stderr, "header %d, library %d\n", LTC_VERSION_NUMBER, ltc_version_number());
        return 1;
    }
    ltc_diagnosis *d = NULL;
    if (ltc_diagnose(&d, LTC_DIAGNOSE_QUICK) != LTC_OK) {
        fprintf(stderr, "ltc_diagnose: %s\n", ltc_last_error());
        return 1;
    }
    const char *loaded = ltc_diagnosis_get(d, "build.libtorch_cuda_loaded");
    printf("ltc=%s torch=%s cuda_built=%d cudart=%d cause=%s libtorch_cuda_loaded=%s\n", ltc_version(), info.torch_version,
           info.cuda_built, info.cuda_runtime_version, ltc_cause_name(ltc_diagnosis_cause(d)), loaded ? loaded : "?");
    ltc_diagnosis_free(d);
    return 0;
}

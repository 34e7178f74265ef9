/* The test suite's seams into libltc. libltc asks ltc_test_seam(NAME) for a value a test injects, through
 * a weak reference that only this library defines: tests/CMakeLists.txt preloads it (LD_PRELOAD) into
 * every test's processes, and here the value is the environment variable NAME. Without this library the
 * shipped libltc asks nobody: no test-only behaviour is switched by the environment. The seams
 * (docs/testing.md): LTC_DIAGNOSE_SYSROOT=<dir> (the diagnosis reads <dir>/dev, <dir>/proc, <dir>/sys and
 * the container and WSL marker files there) and LTC_TEST_GPU_IDENTITY (what each rank reports of its
 * GPU at the rendezvous, so that CPU ranks exercise the GPU identity checks). */
#include <stdlib.h>
#include <string.h>

__attribute__((visibility("default"))) const char *ltc_test_seam(const char *name);

const char *ltc_test_seam(const char *name) {
    if (!name || (strcmp(name, "LTC_DIAGNOSE_SYSROOT") != 0 && strcmp(name, "LTC_TEST_GPU_IDENTITY") != 0))
        return NULL;
    return getenv(name);
}

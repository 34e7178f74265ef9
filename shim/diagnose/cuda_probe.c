/* ltc-cuda-probe: queries the NVIDIA driver in a fresh process and prints what it found as one JSON
 * object, written with ltc's JSON writer:
 *   {"loaded": true, "init": 0, "count": 2, "version": 13000, "uuids": ["GPU-...", "GPU-..."]}
 * (loaded: libcuda.so.1 loaded; init: cuInit's result, -1 when not called; count: devices, -1 when not
 * counted; version: the driver API's version, 0 when unknown). ltc_diagnose() runs it with
 * CUDA_VISIBLE_DEVICES removed, to learn how many GPUs exist without it, without touching the CUDA state
 * of the process that asked; the test suite runs it to learn which machine it is on. */
#include "cudriver.h"
#include "json.h"

#include <stdio.h>

int main(void) {
    static ltc_cudrv drv;
    ltc_cudrv_probe(&drv);
    ltc_json_writer w;
    ltc_json_init_file(&w, stdout);
    ltc_json_begin_object(&w, NULL, 1);
    ltc_json_bool(&w, "loaded", drv.loaded);
    ltc_json_number(&w, "init", drv.init_rc);
    ltc_json_number(&w, "count", drv.count);
    ltc_json_number(&w, "version", drv.version);
    ltc_json_begin_array(&w, "uuids", 1);
    for (int i = 0; i < drv.ndev; i++)
        ltc_json_string(&w, NULL, drv.dev[i].uuid);
    ltc_json_end(&w);
    ltc_json_end(&w);
    printf("\n");
    return fflush(stdout) != 0 || ferror(stdout) ? 1 : 0;
}

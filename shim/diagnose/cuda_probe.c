/* ltc-cuda-probe: queries the NVIDIA driver in a fresh process and prints one line,
 *   init=<cuInit result> count=<devices> version=<driver API version> uuids=<GPU-...,GPU-...>
 * ltc_diagnose() runs it with CUDA_VISIBLE_DEVICES removed, to learn how many GPUs exist without it,
 * without touching the CUDA state of the process that asked. */
#include "cudriver.h"

#include <stdio.h>

int main(void) {
    static ltc_cudrv drv;
    ltc_cudrv_probe(&drv);
    printf("loaded=%d init=%d count=%d version=%d uuids=", drv.loaded, drv.init_rc, drv.count, drv.version);
    for (int i = 0; i < drv.ndev; i++)
        printf("%s%s", i ? "," : "", drv.dev[i].uuid);
    printf("\n");
    return 0;
}

/* Out of GPU memory is a status, not the end of the process: asking for more than the card holds returns
 * LTC_ERR_OUT_OF_MEMORY with LibTorch's message, and so does filling the card piece by piece; after
 * both, the process allocates and computes normally. Needs a GPU (exits 77 without one). */
#include "testhelper.h"

#include <stdint.h>

#define GIB ((int64_t)1 << 30)
#define MAX_CHUNKS 4096 /* 4 TiB: more than any card holds */

static const ltc_device GPU0 = {LTC_DEVICE_CUDA, 0};

/* A small tensor of ones on the GPU, copied back: every value must be 1. */
static void computes_normally(const char *when) {
    int64_t shape[2] = {1000, 1000};
    ltc_tensor *g = NULL, *back = NULL;
    static float host[1000 * 1000];
    char name[160];
    snprintf(name, sizeof name, "%s: ones on cuda:0, copied back, are all 1", when);
    int ok = ltc_tensor_ones(&g, shape, 2, LTC_FLOAT32, GPU0) == LTC_OK &&
             ltc_tensor_to(&back, g, (ltc_device){LTC_DEVICE_CPU, 0}, 0) == LTC_OK &&
             ltc_tensor_copy_to_host(host, sizeof host, back) == LTC_OK;
    for (int i = 0; ok && i < 1000 * 1000; i++)
        ok = host[i] == 1.0f;
    CHECK(name, ok);
    /* and a host tensor moved there and back keeps its values */
    ltc_tensor *r = NULL, *moved = NULL, *again = NULL;
    static float before[1000 * 1000], after[1000 * 1000];
    snprintf(name, sizeof name, "%s: randn to cuda:0 and back is bit-identical", when);
    ok = ltc_tensor_randn(&r, shape, 2, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}, 3) == LTC_OK &&
         ltc_tensor_copy_to_host(before, sizeof before, r) == LTC_OK && ltc_tensor_to(&moved, r, GPU0, 0) == LTC_OK &&
         ltc_tensor_to(&again, moved, (ltc_device){LTC_DEVICE_CPU, 0}, 0) == LTC_OK &&
         ltc_tensor_copy_to_host(after, sizeof after, again) == LTC_OK && memcmp(before, after, sizeof before) == 0;
    CHECK(name, ok);
    CHECK_OK(ltc_cuda_synchronize(LTC_CUDA(0)));
    ltc_tensor_free(again);
    ltc_tensor_free(moved);
    ltc_tensor_free(r);
    ltc_tensor_free(back);
    ltc_tensor_free(g);
}

int main(void) {
    th_require_gpu();
    ltc_cuda_link_info info;
    CHECK_OK(ltc_cuda_link_info_get(&info, LTC_CUDA(0)));
    printf("cuda:0: %s, %.1f GiB\n", info.name, info.total_memory / (double)GIB);
    CHECK("the card reports its memory", info.total_memory > 0);
    computes_normally("before");

    /* 1. One tensor larger than the whole card, by each creation path that allocates on the GPU. */
    int64_t too_big[1] = {(int64_t)(info.total_memory / 4) + GIB / 4}; /* float32: the card plus 1 GiB */
    for (int round = 0; round < 3; round++) {
        ltc_tensor *t = (ltc_tensor *)(void *)&t;
        CHECK_FAILS(ltc_tensor_zeros(&t, too_big, 1, LTC_FLOAT32, GPU0), LTC_ERR_OUT_OF_MEMORY, "out of memory");
        CHECK("*out is NULL after out of memory", t == NULL);
        CHECK_FAILS(ltc_tensor_empty(&t, too_big, 1, LTC_FLOAT32, GPU0, 0), LTC_ERR_OUT_OF_MEMORY, "Tried to allocate");
        CHECK_FAILS(ltc_tensor_ones(&t, too_big, 1, LTC_FLOAT32, GPU0), LTC_ERR_OUT_OF_MEMORY, "out of memory");
    }
    computes_normally("after one tensor larger than the card");

    /* 2. Fill the card 1 GiB at a time until it says no, then let it all go. */
    static ltc_tensor *chunks[MAX_CHUNKS];
    int64_t chunk[1] = {GIB / 4};
    int n = 0;
    ltc_status s = LTC_OK;
    while (n < MAX_CHUNKS && (s = ltc_tensor_empty(&chunks[n], chunk, 1, LTC_FLOAT32, GPU0, 0)) == LTC_OK)
        n++;
    printf("filled cuda:0 with %d GiB before: %s: %.200s\n", n, ltc_status_string(s), ltc_last_error());
    CHECK("filling the card ends in LTC_ERR_OUT_OF_MEMORY", s == LTC_ERR_OUT_OF_MEMORY);
    CHECK("with LibTorch's message", strstr(ltc_last_error(), "out of memory") != NULL);
    CHECK("after most of the card was taken", (size_t)n * (size_t)GIB >= info.total_memory / 2);
    /* while full: a small allocation may fail the same way, but never any other way */
    int64_t small[1] = {1024};
    ltc_tensor *t = NULL;
    s = ltc_tensor_ones(&t, small, 1, LTC_FLOAT32, GPU0);
    CHECK("a small allocation on a full card: OK or out of memory", s == LTC_OK || s == LTC_ERR_OUT_OF_MEMORY);
    ltc_tensor_free(t);
    for (int i = 0; i < n; i++)
        ltc_tensor_free(chunks[i]);
    computes_normally("after filling the card");
    /* the memory really came back: the same amount fits again */
    int again = 0;
    while (again < n && ltc_tensor_empty(&chunks[again], chunk, 1, LTC_FLOAT32, GPU0, 0) == LTC_OK)
        again++;
    char name[128];
    snprintf(name, sizeof name, "the %d GiB fit again after being freed (%d did; 1 GiB of slack for the allocator)", n,
             again);
    CHECK(name, again >= n - 1);
    for (int i = 0; i < again; i++)
        ltc_tensor_free(chunks[i]);
    computes_normally("at the end");
    return th_finish();
}

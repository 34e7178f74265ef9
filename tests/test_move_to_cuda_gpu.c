/* Transfers on GPUs: round trips bit-identical for every dtype, pinned and pageable, blocking and not,
 * on every visible GPU and between GPUs; non-blocking copies complete after the synchronize; events,
 * peer access, the link query, device out-of-memory. Exits 77 (skipped) where no GPU is usable; with one
 * GPU the cases between GPUs are counted skipped. */
#include "testhelper.h"

static const ltc_device CPU = {LTC_DEVICE_CPU, 0};
static const ltc_dtype dtypes[] = {LTC_FLOAT32, LTC_FLOAT64, LTC_INT32, LTC_INT64};

/* Random bytes: every bit pattern (NaN payloads included) must survive, so compare with memcmp. */
static void fill(unsigned char *p, size_t n, uint64_t seed) {
    uint64_t r = seed * 0x9E3779B97F4A7C15u + 1;
    for (size_t i = 0; i < n; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        p[i] = (unsigned char)(r >> 56);
    }
}

/* The host tensor holding `data`, pinned or not. */
static ltc_tensor *host_tensor(const void *data, const int64_t *shape, int ndim, ltc_dtype dt, int pinned) {
    ltc_tensor *t = NULL, *p = NULL;
    CHECK_OK(ltc_tensor_from_data(&t, data, shape, ndim, dt, CPU));
    if (!pinned)
        return t;
    CHECK_OK(ltc_tensor_pin_memory(&p, t));
    ltc_tensor_free(t);
    int is = 0;
    CHECK_OK(ltc_tensor_is_pinned(&is, p));
    CHECK("pin_memory gives pinned memory", is == 1);
    return p;
}

static void roundtrips(int dev_index) {
    ltc_device dev = {LTC_DEVICE_CUDA, dev_index};
    int64_t shape[3] = {31, 7, 11};
    enum { N = 31 * 7 * 11 * 8 };
    static unsigned char sent[N], back[N];
    char name[128];
    for (size_t d = 0; d < 4; d++)
        for (int pinned = 0; pinned < 2; pinned++)
            for (int nb = 0; nb < 2; nb++) {
                size_t bytes = (size_t)31 * 7 * 11 * ltc_dtype_size(dtypes[d]);
                snprintf(name, sizeof name, "cuda:%d %s %s %s", dev_index, ltc_dtype_name(dtypes[d]),
                         pinned ? "pinned" : "pageable", nb ? "non-blocking" : "blocking");
                fill(sent, bytes, d * 4 + pinned * 2 + nb + 100 * dev_index);
                ltc_tensor *h = host_tensor(sent, shape, 3, dtypes[d], pinned);

                /* ltc_tensor_to there and back */
                ltc_tensor *g = NULL, *r = NULL;
                CHECK_OK(ltc_tensor_to(&g, h, dev, nb));
                CHECK_OK(ltc_cuda_synchronize(LTC_CUDA(dev_index)));
                ltc_device where = ltc_tensor_device(g);
                CHECK(name, where.type == LTC_DEVICE_CUDA && where.index == dev_index);
                CHECK_OK(ltc_tensor_to(&r, g, CPU, nb));
                CHECK_OK(ltc_cuda_synchronize(LTC_CUDA(dev_index)));
                memset(back, 0, bytes);
                CHECK_OK(ltc_tensor_copy_to_host(back, bytes, r));
                CHECK(name, memcmp(sent, back, bytes) == 0);

                /* ltc_tensor_copy into existing tensors there and back */
                ltc_tensor *gd = NULL, *hd = NULL;
                CHECK_OK(ltc_tensor_empty(&gd, shape, 3, dtypes[d], dev, 0));
                CHECK_OK(ltc_tensor_empty(&hd, shape, 3, dtypes[d], CPU, pinned));
                CHECK_OK(ltc_tensor_copy(gd, h, nb));
                CHECK_OK(ltc_tensor_copy(hd, gd, nb));
                CHECK_OK(ltc_cuda_synchronize(LTC_CUDA(dev_index)));
                memset(back, 0, bytes);
                CHECK_OK(ltc_tensor_copy_to_host(back, bytes, hd));
                CHECK(name, memcmp(sent, back, bytes) == 0);

                ltc_tensor_free(h);
                ltc_tensor_free(g);
                ltc_tensor_free(r);
                ltc_tensor_free(gd);
                ltc_tensor_free(hd);
            }
}

/* A large non-blocking copy each way, read only after the synchronize; an event after the copy says done. */
static void non_blocking_completes(int dev_index) {
    ltc_device dev = {LTC_DEVICE_CUDA, dev_index};
    int64_t n = 64 << 20; /* 256 MiB of float32 */
    size_t bytes = (size_t)n * 4;
    unsigned char *sent = malloc(bytes), *back = malloc(bytes);
    CHECK("host buffers", sent && back);
    if (!sent || !back)
        return;
    fill(sent, bytes, 7 + dev_index);
    ltc_tensor *h = host_tensor(sent, &n, 1, LTC_FLOAT32, 1), *g = NULL, *hb = NULL;
    ltc_event *start = NULL, *end = NULL;
    CHECK_OK(ltc_event_new(&start, LTC_CUDA(dev_index)));
    CHECK_OK(ltc_event_new(&end, LTC_CUDA(dev_index)));
    CHECK_OK(ltc_tensor_empty(&g, &n, 1, LTC_FLOAT32, dev, 0));
    CHECK_OK(ltc_tensor_empty(&hb, &n, 1, LTC_FLOAT32, CPU, 1));
    CHECK_OK(ltc_cuda_synchronize(LTC_CUDA(dev_index)));

    CHECK_OK(ltc_event_record(start));
    CHECK_OK(ltc_tensor_copy(g, h, 1));
    CHECK_OK(ltc_event_record(end));
    int done = -1;
    CHECK_OK(ltc_event_query(&done, end));
    printf("cuda:%d: right after a non-blocking 256 MiB host-to-device copy returned, it was %s\n", dev_index,
           done ? "already done" : "still running");
    CHECK_OK(ltc_cuda_synchronize(LTC_CUDA(dev_index)));
    CHECK_OK(ltc_event_query(&done, end));
    CHECK("event done after the synchronize", done == 1);
    double ms = 0;
    CHECK_OK(ltc_event_elapsed_ms(&ms, start, end));
    printf("cuda:%d: 256 MiB pinned host to device: %.3f ms by events, %.1f GB/s\n", dev_index, ms, bytes / ms / 1e6);
    CHECK("event time is plausible (0 < t < 10 s)", ms > 0 && ms < 10000);

    CHECK_OK(ltc_tensor_copy(hb, g, 1)); /* device to host into pinned memory, queued */
    CHECK_OK(ltc_event_record(end));
    CHECK_OK(ltc_event_synchronize(end));
    memset(back, 0, bytes);
    CHECK_OK(ltc_tensor_copy_to_host(back, bytes, hb)); /* a plain memcpy from host memory: no wait inside */
    CHECK("non-blocking round trip complete after the synchronize", memcmp(sent, back, bytes) == 0);

    ltc_tensor_free(h);
    ltc_tensor_free(g);
    ltc_tensor_free(hb);
    ltc_event_free(start);
    ltc_event_free(end);
    free(sent);
    free(back);
}

static void events_errors(void) {
    ltc_event *a = NULL, *b = NULL;
    double ms;
    int done;
    CHECK_OK(ltc_event_new(&a, LTC_CUDA(0)));
    CHECK_OK(ltc_event_new(&b, LTC_CUDA(-1)));
    CHECK_FAILS(ltc_event_synchronize(a), LTC_ERR_INVALID_ARGUMENT, "event 'event' was never recorded: call ltc_event_record first");
    CHECK_FAILS(ltc_event_query(&done, a), LTC_ERR_INVALID_ARGUMENT, "was never recorded");
    CHECK_OK(ltc_event_record(a));
    CHECK_FAILS(ltc_event_elapsed_ms(&ms, a, b), LTC_ERR_INVALID_ARGUMENT, "event 'end' was never recorded");
    CHECK_FAILS(ltc_event_elapsed_ms(&ms, b, a), LTC_ERR_INVALID_ARGUMENT, "event 'start' was never recorded");
    /* real work between the two records: 1 GiB written on the GPU takes well over a microsecond there */
    ltc_tensor *big = NULL;
    int64_t n = (int64_t)1 << 28;
    CHECK_OK(ltc_tensor_ones(&big, &n, 1, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CUDA, 0}));
    CHECK_OK(ltc_event_record(b));
    CHECK_OK(ltc_event_elapsed_ms(&ms, a, b));
    char what[128];
    snprintf(what, sizeof what, "1 GiB written between two records takes GPU time: %.3g ms, in (0, 10000)", ms);
    CHECK(what, ms > 0 && ms < 10000);
    ltc_tensor_free(big);
    ltc_event_free(b);
    if (th_need_gpus("events on two GPUs: elapsed time between them is refused", 2)) {
        CHECK_OK(ltc_event_new(&b, LTC_CUDA(1)));
        CHECK_OK(ltc_event_record(b));
        CHECK_FAILS(ltc_event_elapsed_ms(&ms, a, b), LTC_ERR_INVALID_ARGUMENT,
                    "start is on cuda:0 but end is on cuda:1: both must be on the same device");
        ltc_event_free(b);
    }
    ltc_event_free(a);
}

static void between_gpus(int from, int to) {
    int peer = -1;
    CHECK_OK(ltc_cuda_peer_access(&peer, LTC_CUDA(from), LTC_CUDA(to)));
    printf("cuda:%d -> cuda:%d: peer access %s\n", from, to, peer ? "yes" : "no (through the host)");
    CHECK("peer access is 0 or 1", peer == 0 || peer == 1);
    int64_t n = 1 << 20;
    static unsigned char sent[4 << 20], back[4 << 20];
    fill(sent, sizeof sent, (uint64_t)(from * 10 + to));
    for (int nb = 0; nb < 2; nb++) {
        ltc_tensor *a = NULL, *b = NULL;
        CHECK_OK(ltc_tensor_from_data(&a, sent, &n, 1, LTC_INT32, (ltc_device){LTC_DEVICE_CUDA, from}));
        CHECK_OK(ltc_tensor_empty(&b, &n, 1, LTC_INT32, (ltc_device){LTC_DEVICE_CUDA, to}, 0));
        CHECK_OK(ltc_tensor_copy(b, a, nb));
        if (nb) {
            CHECK_OK(ltc_cuda_synchronize(LTC_CUDA(from)));
            CHECK_OK(ltc_cuda_synchronize(LTC_CUDA(to)));
        }
        memset(back, 0, sizeof back);
        CHECK_OK(ltc_tensor_copy_to_host(back, sizeof back, b));
        CHECK(nb ? "device to device, non-blocking" : "device to device, blocking", memcmp(sent, back, sizeof back) == 0);
        ltc_tensor *c = NULL;
        CHECK_OK(ltc_tensor_to(&c, a, (ltc_device){LTC_DEVICE_CUDA, to}, nb));
        CHECK_OK(ltc_cuda_synchronize(LTC_CUDA(to)));
        CHECK("ltc_tensor_to between GPUs lands there", ltc_tensor_device(c).index == to);
        CHECK_OK(ltc_tensor_copy_to_host(back, sizeof back, c));
        CHECK("ltc_tensor_to between GPUs", memcmp(sent, back, sizeof back) == 0);
        ltc_tensor_free(a);
        ltc_tensor_free(b);
        ltc_tensor_free(c);
    }
}

static void queries(int i) {
    ltc_cuda_link_info info;
    CHECK_OK(ltc_cuda_link_info_get(&info, LTC_CUDA(i)));
    printf("cuda:%d: %s, %.1f GiB, bus %s, driver CUDA %d.%d, PCIe Gen%d x%d now, Gen%d x%d max = %.1f GB/s\n", i,
           info.name, info.total_memory / 1073741824.0, info.pci_bus_id, info.driver_version / 1000,
           info.driver_version % 1000 / 10, info.pcie_gen, info.pcie_width, info.pcie_max_gen, info.pcie_max_width,
           info.pcie_max_gbps);
    CHECK("link info: name", info.name[0] != '\0');
    CHECK("link info: memory", info.total_memory > ((size_t)1 << 28));
    CHECK("link info: driver", info.driver_version >= 11000);
    CHECK("link info: bus id dddd:bb:dd.0", strlen(info.pci_bus_id) == 12 && info.pci_bus_id[4] == ':');
    CHECK("link info: a rate exactly when the link is known",
          (info.pcie_max_gen == 0 || info.pcie_max_width == 0) == (info.pcie_max_gbps == 0));
    CHECK("link info: Gen5 x16 would be 63.0 GB/s",
          info.pcie_max_gen != 5 || info.pcie_max_width != 16 || (info.pcie_max_gbps > 63.0 && info.pcie_max_gbps < 63.1));
    int peer = 0;
    CHECK_OK(ltc_cuda_peer_access(&peer, LTC_CUDA(i), LTC_CUDA(i)));
    CHECK("a GPU reaches its own memory", peer == 1);
}

static void gpu_errors(void) {
    ltc_device dev0 = {LTC_DEVICE_CUDA, 0};
    int64_t four = 4;
    ltc_tensor *g = NULL, *h = NULL, *t = NULL;
    CHECK_OK(ltc_tensor_empty(&g, &four, 1, LTC_FLOAT32, dev0, 0));
    CHECK_OK(ltc_tensor_empty(&h, &four, 1, LTC_FLOAT64, CPU, 1));
    CHECK_FAILS(ltc_tensor_copy(g, h, 1), LTC_ERR_INVALID_ARGUMENT,
                "dst is float32 [4] on cuda:0 but src is float64 [4] on cpu: shape and dtype must be the same");
    int is = -1;
    CHECK_OK(ltc_tensor_is_pinned(&is, g));
    CHECK("a GPU tensor is not pinned", is == 0);
    CHECK_FAILS(ltc_tensor_pin_memory(&t, g), LTC_ERR_INVALID_ARGUMENT, "the tensor is on cuda:0; only host (cpu) tensors can be pinned");
    /* pinning a pinned tensor gives a new copy */
    CHECK_OK(ltc_tensor_pin_memory(&t, h));
    CHECK("a new copy", t != NULL && t != h);
    ltc_tensor_free(t);
    t = NULL;
    /* 1 PiB on the GPU: out of memory, and the process goes on */
    int64_t huge[2] = {INT64_C(1) << 24, INT64_C(1) << 24};
    CHECK_FAILS(ltc_tensor_empty(&t, huge, 2, LTC_FLOAT32, dev0, 0), LTC_ERR_OUT_OF_MEMORY, "out of memory");
    CHECK("nothing returned", t == NULL);
    CHECK_OK(ltc_tensor_empty(&t, &four, 1, LTC_FLOAT32, dev0, 0));
    CHECK_OK(ltc_tensor_copy(t, g, 0));
    ltc_tensor_free(t);
    ltc_tensor_free(g);
    ltc_tensor_free(h);
}

int main(void) {
    th_require_gpu();
    int n = 0;
    CHECK_OK(ltc_cuda_device_count(&n));
    printf("%d CUDA device(s)\n", n);
    for (int i = 0; i < n; i++) {
        queries(i);
        roundtrips(i);
        non_blocking_completes(i);
    }
    if (th_need_gpus("copies between GPUs (peer access, device to device, ltc_tensor_to)", 2))
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i != j)
                    between_gpus(i, j);
    events_errors();
    gpu_errors();
    return th_finish();
}

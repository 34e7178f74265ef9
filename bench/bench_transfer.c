/* bench_transfer: copies between host and GPU through libltc, move_to_cuda's benchmark.
 *
 *  1. sweep: host to host (the baseline), host to device and device to host, pageable and pinned,
 *     and device to device between two GPUs when there are several; 4 B to 1 GiB by powers of 4
 *     (--size-step); median latency and bandwidth, against the PCIe link's theoretical rate.
 *  2. pin:   the time to pin (a pageable tensor copied into new pinned memory), first and again.
 *  3. fit:   per copy, the fixed latency and asymptotic bandwidth fitted from the sweep.
 *  4. move:  `torch.randn(100, 100).to("cuda:0")` (synced) through ltc, side by side (A B C A B C ...)
 *     with the same line in Python, plain PyTorch (peer_move.py), and in raw LibTorch C++
 *     (peer_move_cpp), each in its own process.
 * Copies use ltc_tensor_copy into tensors made beforehand: pinned ones non-blocking, pageable ones
 * blocking (what each does best), each run followed by a device synchronize. The goals' targets are
 * in bench/goals.
 */
#define _POSIX_C_SOURCE 200809L
#include "harness.h"
#include "ltc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef LTC_BENCH_PEER_MOVE_PY
#define LTC_BENCH_PEER_MOVE_PY "peer_move.py"
#endif
#ifndef LTC_BENCH_PEER_MOVE_CPP
#define LTC_BENCH_PEER_MOVE_CPP "peer_move_cpp"
#endif

static const char usage[] =
    "usage: bench_transfer [options]\n"
    "Host <-> GPU copy latency and bandwidth through libltc (pageable and pinned, 4 B to 1 GiB), the\n"
    "time to pin, fitted latency and bandwidth against the PCIe link, and the 100x100 move against\n"
    "Python and raw LibTorch C++ side by side.\n"
    "  --device N       the GPU, 0 to 1023 (default 0)\n"
    "  --min-bytes B    smallest copy, a power of 2 >= 4 (default 4)\n"
    "  --max-bytes B    largest copy, a power of 2 <= 8 GiB (default 1073741824)\n"
    "  --size-step K    each size K times the one before, a power of 2 from 2 to 1024 (default 4)\n"
    "  --rounds N       side-by-side rounds for the 100x100 move, 1 to 1000 (default 5)\n"
    "  --python PATH    Python with torch for the Python peer (default $LTC_PYTHON, else python3)\n"
    "  --no-python      no Python peer\n"
    "  --no-cpp         no raw LibTorch C++ peer\n"
    "  --no-sweep       skip the sweep, pin and fit tables\n"
    "  --no-move        skip the 100x100 move\n"
    "%s"
    "exit codes: 0 measured (goals are reported, not enforced); 1 an error while measuring; 2 bad usage\n";

enum kind { H2H, H2D, D2H, D2D };

typedef struct spec {
    const char *copy, *memory;
    enum kind kind;
    int pinned, from, to; /* CUDA devices where the kind has them */
} spec;

typedef struct copy_ctx {
    ltc_tensor *dst, *src;
    int non_blocking, sync_a, sync_b; /* devices to synchronize after each run; -1: none */
} copy_ctx;

static int run_copy(void *p) {
    copy_ctx *c = p;
    return ltc_tensor_copy(c->dst, c->src, c->non_blocking) != LTC_OK;
}

static int sync_copy(void *p) {
    copy_ctx *c = p;
    if (c->sync_a >= 0 && ltc_cuda_synchronize(LTC_CUDA(c->sync_a)) != LTC_OK)
        return 1;
    return c->sync_b >= 0 && ltc_cuda_synchronize(LTC_CUDA(c->sync_b)) != LTC_OK;
}

typedef struct pin_ctx {
    ltc_tensor *src;
} pin_ctx;

static int run_pin(void *p) {
    ltc_tensor *pinned = NULL;
    if (ltc_tensor_pin_memory(&pinned, ((pin_ctx *)p)->src) != LTC_OK)
        return 1;
    ltc_tensor_free(pinned); /* back to LibTorch's pinned cache */
    return 0;
}

typedef struct move_ctx {
    ltc_tensor *x, *y;
    ltc_device dev;
} move_ctx;

/* y = x.to(dev), the old y released, as the Python line does */
static int run_move(void *p) {
    move_ctx *m = p;
    ltc_tensor *y = NULL;
    if (ltc_tensor_to(&y, m->x, m->dev, 0) != LTC_OK)
        return 1;
    ltc_tensor_free(m->y);
    m->y = y;
    return 0;
}

static int sync_move(void *p) { return ltc_cuda_synchronize(((move_ctx *)p)->dev) != LTC_OK; }

static void size_text(char *buf, size_t size, int64_t bytes) {
    if (bytes >= INT64_C(1) << 30)
        snprintf(buf, size, "%lld GiB", (long long)(bytes >> 30));
    else if (bytes >= 1 << 20)
        snprintf(buf, size, "%lld MiB", (long long)(bytes >> 20));
    else if (bytes >= 1 << 10)
        snprintf(buf, size, "%lld KiB", (long long)(bytes >> 10));
    else
        snprintf(buf, size, "%lld B", (long long)bytes);
}

/* The tensors of one case at one size; 0 on success, else ltc's status with the message in ltc_last_error(). */
static ltc_status make_case(const spec *s, int64_t bytes, copy_ctx *c) {
    int64_t n = bytes / 4;
    const ltc_device cpu = {LTC_DEVICE_CPU, 0};
    ltc_device from = {LTC_DEVICE_CUDA, s->from}, to = {LTC_DEVICE_CUDA, s->to};
    ltc_status st = LTC_OK;
    memset(c, 0, sizeof *c);
    c->sync_a = c->sync_b = -1;
    c->non_blocking = s->pinned;
    ltc_tensor *plain = NULL;
    switch (s->kind) {
    case H2H:
        if ((st = ltc_tensor_ones(&c->src, &n, 1, LTC_FLOAT32, cpu)) == LTC_OK)
            st = ltc_tensor_empty(&c->dst, &n, 1, LTC_FLOAT32, cpu, 0);
        break;
    case H2D:
        c->sync_a = s->to;
        if ((st = ltc_tensor_ones(&plain, &n, 1, LTC_FLOAT32, cpu)) != LTC_OK)
            break;
        if (s->pinned) {
            st = ltc_tensor_pin_memory(&c->src, plain);
            ltc_tensor_free(plain);
        } else {
            c->src = plain;
        }
        if (st == LTC_OK)
            st = ltc_tensor_empty(&c->dst, &n, 1, LTC_FLOAT32, to, 0);
        break;
    case D2H:
        c->sync_a = s->from;
        if ((st = ltc_tensor_ones(&c->src, &n, 1, LTC_FLOAT32, from)) == LTC_OK)
            st = ltc_tensor_empty(&c->dst, &n, 1, LTC_FLOAT32, cpu, s->pinned);
        break;
    case D2D:
        c->sync_a = s->from;
        c->sync_b = s->to;
        c->non_blocking = 1;
        if ((st = ltc_tensor_ones(&c->src, &n, 1, LTC_FLOAT32, from)) == LTC_OK)
            st = ltc_tensor_empty(&c->dst, &n, 1, LTC_FLOAT32, to, 0);
        break;
    }
    return st;
}

/* Weighted least squares t = a + b * bytes with weights 1/t^2 (relative error), so the small sizes set
 * the latency a and the large ones the bandwidth 1/b. */
static void fit_line(const double *bytes, const double *t, int n, double *latency_s, double *bandwidth) {
    double sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        double w = 1 / (t[i] * t[i]);
        sw += w, sx += w * bytes[i], sy += w * t[i], sxx += w * bytes[i] * bytes[i], sxy += w * bytes[i] * t[i];
    }
    double det = sw * sxx - sx * sx;
    *latency_s = *bandwidth = NAN;
    if (n < 2 || det == 0)
        return;
    double b = (sw * sxy - sx * sy) / det;
    *latency_s = (sy * sxx - sx * sxy) / det;
    *bandwidth = b > 0 ? 1 / b : NAN;
}

/* The i-th size of the sweep: min_bytes * step^i. */
static int64_t size_at(int64_t min_bytes, int64_t step, int i) {
    while (i-- > 0)
        min_bytes *= step;
    return min_bytes;
}

static int parse_pow2(const char *v, int64_t lo, int64_t hi, int64_t *out) {
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || n < lo || n > hi || (n & (n - 1)) != 0)
        return 0;
    *out = n;
    return 1;
}

int main(int argc, char **argv) {
    static const struct option longs[] = {BENCH_ARGS_OPTIONS, BENCH_PEER_OPTIONS,
                                          {"device", required_argument, 0, 'd'},
                                          {"min-bytes", required_argument, 0, 'a'},
                                          {"max-bytes", required_argument, 0, 'b'},
                                          {"size-step", required_argument, 0, 's'},
                                          {"rounds", required_argument, 0, 'r'},
                                          {"no-cpp", no_argument, 0, 'C'},
                                          {"no-sweep", no_argument, 0, 'S'},
                                          {"no-move", no_argument, 0, 'M'},
                                          {0, 0, 0, 0}};
    bench_args args;
    int device = 0, rounds = 5, want_cpp = 1, do_sweep = 1, do_move = 1;
    int64_t min_bytes = 4, max_bytes = INT64_C(1) << 30, step = 4;
    long long n = 0;
    bench_args_init(&args, argv[0]);
    for (int c, rc = 0; (c = bench_args_next(&args, argc, argv, longs, &rc)) != -1;) {
        if (rc)
            return rc;
        switch (c) {
        case 'h': printf(usage, bench_args_help); return fflush(stdout) == 0 ? 0 : 1;
        case 'C': want_cpp = 0; break;
        case 'S': do_sweep = 0; break;
        case 'M': do_move = 0; break;
        case 'd':
            if (bench_whole(&n, "--device", optarg, 0, 1023))
                return 2;
            device = (int)n;
            break;
        case 'r':
            if (bench_whole(&n, "--rounds", optarg, 1, 1000))
                return 2;
            rounds = (int)n;
            break;
        case 's':
            if (!parse_pow2(optarg, 2, 1024, &step))
                return bench_invalid("--size-step", optarg, "use a power of 2 from 2 to 1024");
            break;
        case 'a':
        case 'b':
            if (!parse_pow2(optarg, 4, INT64_C(1) << 33, c == 'a' ? &min_bytes : &max_bytes))
                return bench_invalid(c == 'a' ? "--min-bytes" : "--max-bytes", optarg, "use a power of 2 from 4 to 8589934592");
            break;
        default: return bench_usage_error(c, argv);
        }
    }
    if (bench_args_check(&args, argc, argv))
        return 2;
    if (min_bytes > max_bytes) {
        fprintf(stderr, "error: --min-bytes %lld is above --max-bytes %lld (try --help)\n", (long long)min_bytes,
                (long long)max_bytes);
        return 2;
    }

    bench_report *rep = bench_report_new("transfer", "host <-> GPU copies through libltc (move_to_cuda)", &args.config);
    if (!rep)
        return 1;
    int ngpu = 0;
    ltc_cuda_device_count(&ngpu);
    const ltc_device gpu = {LTC_DEVICE_CUDA, device};
    if (ngpu == 0) {
        ltc_tensor *probe = NULL;
        int64_t one = 1;
        ltc_tensor_empty(&probe, &one, 1, LTC_FLOAT32, gpu, 0); /* fails: its message says why */
        bench_report_note(rep, "no usable GPU (%s): only the host-to-host baseline runs", ltc_last_error());
    } else if (device >= ngpu) {
        ltc_cuda_synchronize(LTC_CUDA(device));
        fprintf(stderr, "error: --device %d: %s\n", device, ltc_last_error());
        bench_report_finish(rep, NULL);
        return 2;
    }
    int bad = 0;

    /* ---- 1-3. sweep, pin, fit ---- */
    double link_gbps = NAN, h2d_pinned_64m = NAN;
    if (do_sweep) {
        spec specs[8];
        int nspec = 0;
        specs[nspec++] = (spec){"host to host", "pageable", H2H, 0, -1, -1};
        if (ngpu > 0) {
            specs[nspec++] = (spec){"host to device", "pageable", H2D, 0, -1, device};
            specs[nspec++] = (spec){"host to device", "pinned", H2D, 1, -1, device};
            specs[nspec++] = (spec){"device to host", "pageable", D2H, 0, device, -1};
            specs[nspec++] = (spec){"device to host", "pinned", D2H, 1, device, -1};
        }
        if (ngpu > 1) {
            int other = device == 0 ? 1 : 0, p1 = 0, p2 = 0;
            ltc_cuda_peer_access(&p1, LTC_CUDA(device), LTC_CUDA(other));
            ltc_cuda_peer_access(&p2, LTC_CUDA(other), LTC_CUDA(device));
            static char names[2][32];
            snprintf(names[0], sizeof names[0], "cuda:%d to cuda:%d", device, other);
            snprintf(names[1], sizeof names[1], "cuda:%d to cuda:%d", other, device);
            specs[nspec++] = (spec){names[0], p1 ? "peer" : "via host", D2D, 0, device, other};
            specs[nspec++] = (spec){names[1], p2 ? "peer" : "via host", D2D, 0, other, device};
        }
        ltc_cuda_link_info link;
        if (ngpu > 0 && ltc_cuda_link_info_get(&link, LTC_CUDA(device)) == LTC_OK && link.pcie_max_gbps > 0)
            link_gbps = link.pcie_max_gbps;

        /* The first pin of each size, before anything else pins memory: a fresh page-locked allocation
         * each time (LibTorch caches pinned blocks by size). Reported in the pin table after the sweep. */
        int nsizes = 0;
        for (int64_t b = min_bytes; b <= max_bytes; b *= step)
            nsizes++;
        double *first_pin = malloc((size_t)nsizes * sizeof *first_pin);
        if (!first_pin)
            return 1;
        for (int i = 0; i < nsizes; i++)
            first_pin[i] = NAN;
        for (int i = 0; ngpu > 0 && i < nsizes; i++) {
            int64_t n = size_at(min_bytes, step, i) / 4;
            ltc_tensor *src = NULL, *pinned = NULL;
            if (ltc_tensor_ones(&src, &n, 1, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}) != LTC_OK)
                break;
            double t0 = bench_now_s();
            if (ltc_tensor_pin_memory(&pinned, src) == LTC_OK)
                first_pin[i] = bench_now_s() - t0;
            ltc_tensor_free(pinned);
            ltc_tensor_free(src);
        }

        static const bench_col cols[] = {
            {"copy", "copy", "", -1, 18},      {"memory", "memory", "", -1, 8}, {"size", "size", "", -1, 8},
            {"bytes", "bytes", "", 0, 12},     {"median_us", "median", "us", 2, 0}, {"min_us", "min", "us", 2, 0},
            {"max_us", "max", "us", 2, 0},     {"iqr_pct", "IQR", "%", 1, 0},   {"runs", "runs", "", 0, 8},
            {"bandwidth_GBps", "bandwidth", "GB/s", 3, 0}, {"of_link_pct", "of link", "%", 1, 0}};
        char title[256], of_link[96] = "PCIe link unknown";
        if (!isnan(link_gbps))
            snprintf(of_link, sizeof of_link, "of link = of %.1f GB/s (PCIe, theoretical, per direction)", link_gbps);
        snprintf(title, sizeof title,
                 "sweep: ltc_tensor_copy into tensors made beforehand, each run synced; bandwidth = bytes / median; %s",
                 of_link);
        bench_table *sweep = bench_report_table(rep, "sweep", title, 11, cols);
        double *fb = calloc((size_t)nsizes, sizeof *fb), *ft = calloc((size_t)nsizes, sizeof *ft);
        double fit_lat[8], fit_bw[8], big_bw[8];
        int fit_n[8];
        for (int k = 0; k < nspec; k++) {
            const spec *s = &specs[k];
            fit_n[k] = 0;
            big_bw[k] = NAN;
            for (int64_t bytes = min_bytes; bytes <= max_bytes; bytes *= step) {
                copy_ctx c;
                char sz[32];
                size_text(sz, sizeof sz, bytes);
                ltc_status st = make_case(s, bytes, &c);
                bench_stats r;
                if (st != LTC_OK || bench_measure(&r, &args.config, run_copy, sync_copy, &c) != 0) {
                    bench_report_note(rep, "%s %s %s: %s", s->copy, s->memory, sz, ltc_last_error());
                    ltc_tensor_free(c.src);
                    ltc_tensor_free(c.dst);
                    bad = 1;
                    break;
                }
                ltc_tensor_free(c.src);
                ltc_tensor_free(c.dst);
                double bw = bytes / r.median_s / 1e9;
                int pcie = s->kind == H2D || s->kind == D2H;
                bench_table_add(sweep, (bench_cell[]){BENCH_TEXT(s->copy), BENCH_TEXT(s->memory), BENCH_TEXT(sz),
                                                      BENCH_NUM(bytes), BENCH_NUM(r.median_s * 1e6),
                                                      BENCH_NUM(r.min_s * 1e6), BENCH_NUM(r.max_s * 1e6),
                                                      BENCH_NUM(bench_stats_iqr_pct(&r)), BENCH_NUM(r.runs), BENCH_NUM(bw),
                                                      pcie ? BENCH_NUM(bw / link_gbps * 100) : BENCH_NONE});
                fb[fit_n[k]] = (double)bytes;
                ft[fit_n[k]++] = r.median_s;
                if (bytes >= 64 << 20 && !(bw >= big_bw[k])) /* the least of the sizes >= 64 MiB */
                    big_bw[k] = bw;
            }
            fit_line(fb, ft, fit_n[k], &fit_lat[k], &fit_bw[k]);
            if (s->kind == H2D && s->pinned)
                h2d_pinned_64m = big_bw[k];
        }
        free(fb);
        free(ft);

        /* pin: the time to pin, apart */
        if (ngpu > 0) {
            static const bench_col pin_cols[] = {
                {"size", "size", "", -1, 8},       {"bytes", "bytes", "", 0, 12},
                {"first_us", "first pin", "us", 1, 0}, {"median_us", "pin again: median", "us", 1, 0},
                {"min_us", "min", "us", 1, 0},     {"max_us", "max", "us", 1, 0},
                {"iqr_pct", "IQR", "%", 1, 0},     {"runs", "runs", "", 0, 0},
                {"bandwidth_GBps", "again: bandwidth", "GB/s", 2, 0}};
            bench_table *pin = bench_report_table(
                rep, "pin", "time to pin: a pageable tensor copied into new pinned memory (ltc_tensor_pin_memory); "
                            "first = page-locked allocation + copy (measured once, before the sweep), again = "
                            "LibTorch's cached block + copy",
                9, pin_cols);
            for (int i = 0; i < nsizes; i++) {
                int64_t bytes = size_at(min_bytes, step, i), n = bytes / 4;
                pin_ctx pc = {NULL};
                char sz[32];
                size_text(sz, sizeof sz, bytes);
                bench_stats s;
                if (ltc_tensor_ones(&pc.src, &n, 1, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}) != LTC_OK ||
                    bench_measure(&s, &args.config, run_pin, NULL, &pc) != 0) {
                    bench_report_note(rep, "pin %s: %s", sz, ltc_last_error());
                    ltc_tensor_free(pc.src);
                    bad = 1;
                    break;
                }
                bench_table_add(pin, (bench_cell[]){BENCH_TEXT(sz), BENCH_NUM(bytes), BENCH_NUM(first_pin[i] * 1e6),
                                                    BENCH_NUM(s.median_s * 1e6), BENCH_NUM(s.min_s * 1e6),
                                                    BENCH_NUM(s.max_s * 1e6), BENCH_NUM(bench_stats_iqr_pct(&s)),
                                                    BENCH_NUM(s.runs),
                                                    BENCH_NUM(bytes / s.median_s / 1e9)});
                ltc_tensor_free(pc.src);
            }
        }
        free(first_pin);

        static const bench_col fit_cols[] = {
            {"copy", "copy", "", -1, 18},
            {"memory", "memory", "", -1, 8},
            {"latency_us", "fixed latency", "us", 2, 0},
            {"bandwidth_GBps", "asymptotic bandwidth", "GB/s", 2, 0},
            {"link_GBps", "PCIe link", "GB/s", 1, 0},
            {"of_link_pct", "of link", "%", 1, 0},
            {"min_bw_64MiB_GBps", "least bandwidth >= 64 MiB", "GB/s", 2, 0}};
        bench_table *fit = bench_report_table(
            rep, "fit", "fit: median time = fixed latency + bytes / asymptotic bandwidth (least squares, relative error)",
            7, fit_cols);
        for (int k = 0; k < nspec; k++) {
            int pcie = specs[k].kind == H2D || specs[k].kind == D2H;
            bench_table_add(fit, (bench_cell[]){BENCH_TEXT(specs[k].copy), BENCH_TEXT(specs[k].memory),
                                                BENCH_NUM(fit_lat[k] * 1e6), BENCH_NUM(fit_bw[k] / 1e9),
                                                pcie ? BENCH_NUM(link_gbps) : BENCH_NONE,
                                                pcie ? BENCH_NUM(fit_bw[k] / 1e9 / link_gbps * 100) : BENCH_NONE,
                                                BENCH_NUM(big_bw[k])});
            char key[64], what[128];
            snprintf(key, sizeof key, "%s_%s_bandwidth_GBps",
                     specs[k].kind == H2H ? "h2h" : specs[k].kind == H2D ? "h2d" : specs[k].kind == D2H ? "d2h" : "d2d",
                     specs[k].memory);
            snprintf(what, sizeof what, "%s, %s: asymptotic bandwidth", specs[k].copy, specs[k].memory);
            bench_report_metric(rep, key, fit_bw[k] / 1e9, "GB/s", what);
        }
    }

    /* ---- 4. the 100x100 move, side by side ---- */
    bench_stats move[3] = {{0}};
    int have[3] = {0, 0, 0};
    if (do_move && ngpu > 0) {
        char dev_text[32], banner[3][256] = {"", "", ""}, err[512];
        ltc_device_format(dev_text, sizeof dev_text, gpu);
        bench_peer *peer[3] = {NULL, NULL, NULL};
        char *cpp_argv[] = {LTC_BENCH_PEER_MOVE_CPP, dev_text, NULL};
        char *py_argv[] = {(char *)args.python, LTC_BENCH_PEER_MOVE_PY, dev_text, NULL};
        if (want_cpp && !(peer[1] = bench_peer_start(cpp_argv, 120, banner[1], sizeof banner[1], err, sizeof err)))
            bench_report_note(rep, "raw LibTorch C++ peer not run: %s", err);
        if (args.want_python && !(peer[2] = bench_peer_start(py_argv, 300, banner[2], sizeof banner[2], err, sizeof err)))
            bench_report_note(rep, "Python peer not run: %s", err);
        move_ctx m = {NULL, NULL, gpu};
        int64_t shape[2] = {100, 100};
        if (ltc_tensor_randn(&m.x, shape, 2, LTC_FLOAT32, (ltc_device){LTC_DEVICE_CPU, 0}, 1) != LTC_OK) {
            bench_report_note(rep, "move: %s", ltc_last_error());
            bad = 1;
        } else {
            bench_stats *st[3];
            for (int j = 0; j < 3; j++)
                st[j] = calloc((size_t)rounds, sizeof(bench_stats));
            have[0] = 1;
            have[1] = peer[1] != NULL;
            have[2] = peer[2] != NULL;
            for (int r = 0; r < rounds; r++) {
                if (bench_measure(&st[0][r], &args.config, run_move, sync_move, &m) != 0) {
                    bench_report_note(rep, "move through ltc: %s", ltc_last_error());
                    have[0] = 0;
                    bad = 1;
                    break;
                }
                for (int j = 1; j < 3; j++)
                    if (have[j] && bench_peer_run(peer[j], args.config.min_time_s, &st[j][r], err, sizeof err) != 0) {
                        bench_report_note(rep, "%s peer failed: %s", j == 1 ? "C++" : "Python", err);
                        have[j] = 0;
                    }
            }
            for (int j = 0; j < 3; j++) {
                if (have[j])
                    bench_stats_combine(&move[j], st[j], rounds);
                free(st[j]);
            }
        }
        ltc_tensor_free(m.x);
        ltc_tensor_free(m.y);
        for (int j = 1; j < 3; j++)
            bench_peer_stop(peer[j]);

        static const bench_col move_cols[] = {
            {"implementation", "implementation", "", -1, 60}, {"median_us", "median", "us", 2, 0},
            {"min_us", "min", "us", 2, 0},                     {"max_us", "max", "us", 2, 0},
            {"iqr_pct", "IQR", "%", 1, 0},                     {"runs", "runs", "", 0, 0},
            {"python_over_this", "Python / this", "x", 2, 0}};
        char title[256];
        snprintf(title, sizeof title,
                 "move: y = x.to(\"%s\") for x = randn(100, 100) float32 pageable, then synchronize; %d rounds "
                 "alternated (ltc, C++, Python), each >= %.2f s; median of the round medians",
                 dev_text, rounds, args.config.min_time_s);
        bench_table *mt = bench_report_table(rep, "move", title, 7, move_cols);
        const char *names[3] = {"ltc (C, this library)", "raw LibTorch C++ (peer_move_cpp)", "Python, plain PyTorch (peer_move.py)"};
        for (int j = 0; j < 3; j++) {
            if (!have[j])
                continue;
            char name[1024];
            snprintf(name, sizeof name, "%s%s%s%s", names[j], banner[j][0] ? " [" : "", banner[j], banner[j][0] ? "]" : "");
            bench_table_add(mt, (bench_cell[]){BENCH_TEXT(name), BENCH_NUM(move[j].median_s * 1e6),
                                               BENCH_NUM(move[j].min_s * 1e6), BENCH_NUM(move[j].max_s * 1e6),
                                               BENCH_NUM(bench_stats_iqr_pct(&move[j])), BENCH_NUM(move[j].runs),
                                               have[2] ? BENCH_NUM(move[2].median_s / move[j].median_s) : BENCH_NONE});
        }
        if (have[0])
            bench_report_metric(rep, "move_100x100_ltc_us", move[0].median_s * 1e6, "us", "100x100 move through ltc, median");
    }

    /* ---- goals (their targets: bench/goals) ---- */
    bench_report_goal(rep, "move_over_cpp", have[0] && have[1] ? move[0].median_s / move[1].median_s : NAN);
    bench_report_goal(rep, "h2d_pinned_64MiB_GBps", h2d_pinned_64m);
    if (bench_report_finish(rep, &args) != 0)
        bad = 1;
    return bad;
}

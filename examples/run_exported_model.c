/* run_exported_model: run a model trained and exported in Python, from C. The C form of
 *
 *     model = torch._inductor.aoti_load_package("mlp_cpu.pt2")   # made by examples/export_model.py
 *     y = model(x)
 *
 * with what that hides made explicit: what the package takes (names, dtypes, shapes), the device it was
 * compiled for, and why a package cannot be loaded here (ltc_model_load refuses it, saying how to fix it).
 *
 *   run_exported_model PACKAGE [--batch N] [--input V,V,...] [--seed N] [--device-index N] [--model NAME] [--check]
 */
#define _POSIX_C_SOURCE 200809L
#include "common.h" /* CHECK, close_stdout */

#include <getopt.h>
#include <time.h>

enum { EXIT_USAGE = 2, EXIT_CANNOT_LOAD = 3, EXIT_NO_GPU = 4, EXIT_BAD_INPUT = 5 }; /* 1 is CHECK's */

static const char usage[] =
    "usage: run_exported_model PACKAGE [options]\n"
    "Loads a .pt2 package exported from Python (examples/export_model.py, or any torch._inductor.\n"
    "aoti_compile_and_package), runs it once on one input per model input, and prints the outputs.\n"
    "  --batch N         the size given to each dynamic dimension, 1 to 2^20 (default 1)\n"
    "  --input V,V,...   the values of a one-input model's input, as many as its shape holds, comma-separated\n"
    "                    (default: standard normal values drawn with --seed)\n"
    "  --seed N          seed of the random inputs, 0 to 2^31-1 (default 1)\n"
    "  --device-index N  the GPU of a CUDA package, -1 (the current one) to 1023 (default -1)\n"
    "  --model NAME      the model in the package (default model)\n"
    "  --check           load the package in a child process first: a package that would crash is refused\n"
    "  --print N         values printed per output, 0 to 2^20 (default 10)\n"
    "  -h, --help        this text\n"
    "exit codes: 0 ran; 1 an unexpected error, or the output could not be written; 2 bad usage;\n"
    "  3 the package cannot be loaded here (the message says why, and the fix); 4 a CUDA package and no\n"
    "  usable GPU (check_cuda says why); 5 its inputs are not recorded, or --input does not fit them\n";

typedef struct options {
    const char *package, *input, *model;
    long batch, seed, device_index, print;
    int check;
} options;

static int number(const char *opt, const char *v, long lo, long hi, long *out) {
    char *end = NULL;
    *out = strtol(v, &end, 10);
    if (*v && !*end && *out >= lo && *out <= hi)
        return 1;
    fprintf(stderr, "run_exported_model: %s %s is not valid: use a whole number from %ld to %ld (try --help)\n", opt, v,
            lo, hi);
    return 0;
}

/* Reads the command line into o; 0 (with a message) for bad usage. --help prints the usage and exits. */
static int parse_options(options *o, int argc, char **argv) {
    static const struct option longs[] = {
        {"batch", required_argument, 0, 'b'}, {"input", required_argument, 0, 'i'}, {"seed", required_argument, 0, 's'},
        {"device-index", required_argument, 0, 'd'}, {"model", required_argument, 0, 'm'}, {"check", no_argument, 0, 'c'},
        {"print", required_argument, 0, 'p'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    *o = (options){NULL, NULL, NULL, 1, 1, -1, 10, 0};
    opterr = 0;
    for (int c; (c = getopt_long(argc, argv, ":h", longs, NULL)) != -1;) {
        int ok = 1;
        switch (c) {
        case 'h': fputs(usage, stdout); exit(close_stdout(0));
        case 'b': ok = number("--batch", optarg, 1, 1L << 20, &o->batch); break;
        case 's': ok = number("--seed", optarg, 0, 2147483647L, &o->seed); break;
        case 'd': ok = number("--device-index", optarg, -1, 1023, &o->device_index); break;
        case 'p': ok = number("--print", optarg, 0, 1L << 20, &o->print); break;
        case 'i': o->input = optarg; break;
        case 'm': o->model = optarg; break;
        case 'c': o->check = 1; break;
        default:
            fprintf(stderr, "run_exported_model: %s \"%s\" (try --help)\n",
                    c == ':' ? "no value after" : "unknown option", argv[optind - 1]);
            return 0;
        }
        if (!ok)
            return 0;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "run_exported_model: %s (try --help)\n", optind == argc ? "no PACKAGE given" : "more than one PACKAGE given");
        return 0;
    }
    o->package = argv[optind];
    return 1;
}

static void print_io(const char *kind, int i, const ltc_model_io *io) {
    printf("  %-6s %d %s: %s", kind, i, io->name, io->dtype_name);
    for (int d = 0; d < io->ndim; d++)
        printf("%s%lld", d ? ", " : " [", (long long)io->shape[d]);
    printf("%s\n", io->ndim < 0 ? " (shape not recorded)" : io->ndim ? "]" : " []");
}

/* text's comma-separated numbers into v, exactly numel of them; 0 when it holds another count or a non-number. */
static int parse_values(const char *text, double *v, int64_t numel) {
    char *end = NULL;
    for (int64_t n = 0; n < numel; n++, text = end + 1) {
        v[n] = strtod(text, &end);
        if (end == text || *end != (n + 1 < numel ? ',' : '\0'))
            return 0;
    }
    return 1;
}

/* Input i: --input's values, or random ones, of the recorded dtype and shape (--batch for dynamic sizes). */
static int make_input(ltc_tensor **out, const ltc_model *m, int i, const options *o, ltc_device dev) {
    ltc_model_io io;
    CHECK(ltc_model_input(&io, m, i), "read what the model takes");
    if (io.ndim < 0 || (io.dtype != LTC_FLOAT32 && io.dtype != LTC_FLOAT64)) {
        fprintf(stderr, "error: input %d (%s): the package records no float32 or float64 dtype and shape for it (%s); "
                        "export it with examples/export_model.py, which records them\n", i, io.name, io.dtype_name);
        return EXIT_BAD_INPUT;
    }
    int64_t numel = 1;
    for (int d = 0; d < io.ndim; d++)
        numel *= io.shape[d] = io.shape[d] == -1 ? o->batch : io.shape[d];
    if (!o->input) {
        CHECK(ltc_tensor_randn(out, io.shape, io.ndim, io.dtype, dev, (uint64_t)(o->seed + i)), "make a random input");
        return 0;
    }
    double *v = malloc((size_t)numel * sizeof *v);
    float *f = malloc((size_t)numel * sizeof *f);
    int ok = v && f && ltc_model_input_count(m) == 1 && parse_values(o->input, v, numel);
    for (int64_t k = 0; ok && k < numel; k++)
        f[k] = (float)v[k];
    if (ok)
        CHECK(ltc_tensor_from_data(out, io.dtype == LTC_FLOAT32 ? (void *)f : (void *)v, io.shape, io.ndim, io.dtype, dev),
              "make the input from --input");
    else
        fprintf(stderr, "error: --input must give %lld numbers, comma-separated, for input 0 (%s)%s\n",
                (long long)numel, io.name, ltc_model_input_count(m) != 1 ? ": it is for models of one input" : "");
    free(v);
    free(f);
    return ok ? 0 : EXIT_BAD_INPUT;
}

static void print_output(const ltc_tensor *y, int i, const ltc_model *m, long print) {
    ltc_model_io io;
    CHECK(ltc_model_output(&io, m, i), "read what the model returns");
    printf("output %d %s: %s [", i, io.name, ltc_dtype_name(ltc_tensor_dtype(y)));
    for (int d = 0; d < ltc_tensor_ndim(y); d++)
        printf("%s%lld", d ? ", " : "", (long long)ltc_tensor_size(y, d));
    printf("]:");
    int64_t n = ltc_tensor_numel(y);
    double *v = malloc(ltc_tensor_nbytes(y) + 8);
    if (v && ltc_tensor_dtype(y) == LTC_FLOAT32 && ltc_tensor_copy_to_host(v, ltc_tensor_nbytes(y), y) == LTC_OK)
        for (int64_t k = 0; k < n && k < print; k++)
            printf(" %.6g", ((float *)v)[k]);
    else if (v && ltc_tensor_dtype(y) == LTC_FLOAT64 && ltc_tensor_copy_to_host(v, ltc_tensor_nbytes(y), y) == LTC_OK)
        for (int64_t k = 0; k < n && k < print; k++)
            printf(" %.6g", v[k]);
    printf("%s\n", n > print ? " ..." : "");
    free(v);
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

int main(int argc, char **argv) {
    options o;
    if (!parse_options(&o, argc, argv))
        return EXIT_USAGE;
    /* 1. Load: the package is checked as a file first; a refusal says why and how to fix it. */
    ltc_model_options mo = LTC_MODEL_OPTIONS_INIT;
    mo.model_name = o.model;
    mo.device_index = (int)o.device_index;
    mo.check_in_child = o.check;
    ltc_model *m = NULL;
    double t0 = now_ms();
    ltc_status s = ltc_model_load(&m, o.package, &mo);
    if (s != LTC_OK) {
        fprintf(stderr, "error: cannot load the model\n  %s [%s]\n", ltc_last_error(), ltc_status_string(s));
        return s == LTC_ERR_CUDA_UNAVAILABLE ? EXIT_NO_GPU : s == LTC_ERR_INTERNAL ? 1 : EXIT_CANNOT_LOAD;
    }
    double load_ms = now_ms() - t0;
    ltc_device dev;
    char where[32];
    CHECK(ltc_model_device(&dev, m), "read the model's device");
    ltc_device_format(where, sizeof where, dev);
    const char *torch = ltc_model_metadata(m, "ltc.torch_version");
    printf("model \"%s\" of %s, on %s, loaded in %.1f ms (exported with torch %s)\n", o.model ? o.model : "model", o.package,
           where, load_ms, torch ? torch : "unrecorded");
    int n_in = ltc_model_input_count(m), n_out = ltc_model_output_count(m);
    ltc_model_io io;
    for (int i = 0; i < n_in && ltc_model_input(&io, m, i) == LTC_OK; i++)
        print_io("input", i, &io);
    for (int i = 0; i < n_out && ltc_model_output(&io, m, i) == LTC_OK; i++)
        print_io("output", i, &io);

    /* 2. Inputs on the model's device, then one run; on a GPU the run is queued, so wait for it. */
    ltc_tensor **x = calloc((size_t)n_in + 1, sizeof *x), **y = calloc((size_t)n_out + 1, sizeof *y);
    int code = x && y ? 0 : 1;
    for (int i = 0; code == 0 && i < n_in; i++)
        code = make_input(&x[i], m, i, &o, dev);
    if (code == 0) {
        t0 = now_ms();
        CHECK(ltc_model_run(y, (size_t)n_out, m, (const ltc_tensor *const *)x, (size_t)n_in), "run the model");
        if (dev.type == LTC_DEVICE_CUDA)
            CHECK(ltc_cuda_synchronize(dev), "wait for the model to finish");
        printf("ran in %.3f ms (the first call)\n", now_ms() - t0);
        for (int i = 0; i < n_out; i++)
            print_output(y[i], i, m, o.print);
    }
    for (int i = 0; x && i < n_in; i++)
        ltc_tensor_free(x[i]);
    for (int i = 0; y && i < n_out; i++)
        ltc_tensor_free(y[i]);
    free(x);
    free(y);
    ltc_model_free(m);
    return close_stdout(code);
}

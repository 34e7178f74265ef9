// Versions, status codes, per-thread errors, build information, devices, dtypes, runtime settings.
#include "internal.hpp"

#include <c10/util/Exception.h>
#include <c10/util/Logging.h>
#include <torch/headeronly/version.h>
#include <torch/cuda.h>
#include <torch/utils.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <strings.h>

namespace {
thread_local std::string last_error;
}

namespace ltc {

static ltc_status set_error(ltc_status status, std::string msg) {
    try {
        last_error = std::move(msg);
    } catch (...) {
    }
    return status;
}

// LibTorch's messages sometimes end in a newline or carry an "Exception raised from" tail.
// "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: ..." -> "DefaultCPUAllocator: ..."
// (Only theirs: ours quote the caller's strings verbatim, which may hold anything.)
static ltc_status set_torch_error(ltc_status status, std::string msg) {
    if (msg.rfind("[enforce fail at ", 0) == 0) {
        auto end = msg.find("] ");
        auto dot = end == std::string::npos ? end : msg.find(". ", end);
        if (dot != std::string::npos)
            msg.erase(0, dot + 2);
    }
    auto cut = msg.find("\nException raised from");
    if (cut != std::string::npos)
        msg.erase(cut);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' '))
        msg.pop_back();
    return set_error(status, std::move(msg));
}

ltc_status fail(ltc_status status, const char *fmt, ...) {
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return set_error(status, buf);
}

std::string fmt(const char *f, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return buf;
}

std::string what_of(const std::exception &e) {
    if (auto c = dynamic_cast<const c10::Error *>(&e))
        return c->what_without_backtrace();
    return e.what();
}

static bool contains(const std::string &s, const char *needle) { return s.find(needle) != std::string::npos; }

ltc_status handle_exception() noexcept {
    try {
        throw;
    } catch (const c10::OutOfMemoryError &e) {
        return set_torch_error(LTC_ERR_OUT_OF_MEMORY, e.what_without_backtrace());
    } catch (const c10::DistError &e) {
        std::string m = e.what_without_backtrace();
        bool timeout = contains(m, "imed out") || contains(m, "imeout");
        return set_torch_error(timeout ? LTC_ERR_TIMEOUT : LTC_ERR_DISTRIBUTED, m);
    } catch (const c10::AcceleratorError &e) {
        return set_torch_error(LTC_ERR_DEVICE, e.what_without_backtrace());
    } catch (const c10::Error &e) {
        std::string m = e.what_without_backtrace();
        if (contains(m, "not enough memory") || contains(m, "out of memory") || contains(m, "can't allocate memory"))
            return set_torch_error(LTC_ERR_OUT_OF_MEMORY, m);
        if (contains(m, "CUDA error") || contains(m, "CUDA driver error"))
            return set_torch_error(LTC_ERR_DEVICE, m);
        if (contains(m, "no NVIDIA driver") || contains(m, "not compiled with CUDA") ||
            contains(m, "no CUDA GPUs are available"))
            return set_torch_error(LTC_ERR_CUDA_UNAVAILABLE, m);
        return set_torch_error(LTC_ERR_TORCH, m);
    } catch (const std::bad_alloc &) {
        return set_torch_error(LTC_ERR_OUT_OF_MEMORY, "out of host memory (std::bad_alloc)");
    } catch (const std::exception &e) {
        return set_torch_error(LTC_ERR_TORCH, e.what());
    } catch (...) {
        return set_torch_error(LTC_ERR_INTERNAL, "an unknown C++ exception reached the ltc boundary");
    }
}

ltc_tensor *wrap(at::Tensor t) { return new ltc_tensor{std::move(t)}; }

std::string device_text(ltc_device device) {
    char buf[32];
    if (ltc_device_format(buf, sizeof buf, device) < 0)
        snprintf(buf, sizeof buf, "<device type %d>", enum_int(device.type));
    return buf;
}

namespace {
// Collects LibTorch warnings instead of printing them.
struct CapturingHandler : c10::WarningHandler {
    std::string text;
    void process(const c10::Warning &w) override {
        if (!text.empty())
            text += "; ";
        text += w.msg();
    }
};
std::once_flag cuda_once;
int cuda_count = 0;
std::string cuda_warning;
}  // namespace

int cuda_device_count() noexcept {
    std::call_once(cuda_once, [] {
        CapturingHandler handler;
        try {
            c10::WarningUtils::WarningHandlerGuard guard(&handler);
            cuda_count = (int)torch::cuda::device_count();
        } catch (...) {
            cuda_count = 0;
        }
        cuda_warning = handler.text;
    });
    return cuda_count;
}

const std::string &cuda_init_warning() noexcept {
    cuda_device_count();
    return cuda_warning;
}

ltc_status cuda_index(int *out, const char *fn, const char *what, ltc_device device) {
    if (device.type != LTC_DEVICE_CUDA)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: %s is %s, not a CUDA device: use cuda or cuda:N", fn, what,
                    device.type == LTC_DEVICE_CPU ? "cpu" : "of an unknown type");
    *out = device.index;
    return LTC_OK;
}

ltc_status to_c10_device(ltc_device device, c10::Device *out) {
    int type = enum_int(device.type);
    if (type == LTC_DEVICE_CPU) {
        if (device.index != 0 && device.index != -1)
            return fail(LTC_ERR_INVALID_ARGUMENT, "device cpu with index %d: the CPU device has index 0 (or -1)",
                        device.index);
        *out = c10::Device(c10::kCPU);
        return LTC_OK;
    }
    if (type != LTC_DEVICE_CUDA)
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "device type %d is not valid: use LTC_DEVICE_CPU (0) or LTC_DEVICE_CUDA (1)", type);
    if (device.index < -1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "CUDA device index %d is not valid: use -1 (the current device) or 0 and up",
                    device.index);
    int n = cuda_device_count();
    std::string name = device_text(device);
    if (n == 0) {
        const std::string &why = cuda_init_warning();
        return fail(LTC_ERR_CUDA_UNAVAILABLE, "%s requested, but LibTorch sees no CUDA device%s%s%s; use cpu, or run check_cuda for the cause and the fix",
                    name.c_str(), why.empty() ? "" : " (", why.c_str(), why.empty() ? "" : ")");
    }
    if (device.index >= n)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s is out of range: %d CUDA device%s visible (valid: cuda:0%s%s)",
                    name.c_str(), n, n == 1 ? " is" : "s are", n > 1 ? " to cuda:" : "",
                    n > 1 ? std::to_string(n - 1).c_str() : "");
    *out = device.index < 0 ? c10::Device(c10::kCUDA) : c10::Device(c10::kCUDA, (c10::DeviceIndex)device.index);
    return LTC_OK;
}

ltc_device from_c10_device(const c10::Device &device) {
    ltc_device d;
    d.type = device.is_cuda() ? LTC_DEVICE_CUDA : LTC_DEVICE_CPU;
    d.index = device.is_cuda() ? (device.has_index() ? device.index() : -1) : 0;
    return d;
}

ltc_status to_scalar_type(ltc_dtype dtype, at::ScalarType *out) {
    switch (enum_int(dtype)) {
    case LTC_FLOAT32: *out = at::kFloat; return LTC_OK;
    case LTC_FLOAT64: *out = at::kDouble; return LTC_OK;
    case LTC_INT32: *out = at::kInt; return LTC_OK;
    case LTC_INT64: *out = at::kLong; return LTC_OK;
    }
    return fail(LTC_ERR_INVALID_ARGUMENT,
                "dtype %d is not valid: use LTC_FLOAT32 (0), LTC_FLOAT64 (1), LTC_INT32 (2) or LTC_INT64 (3)", enum_int(dtype));
}

int from_scalar_type(at::ScalarType type) {
    switch (type) {
    case at::kFloat: return LTC_FLOAT32;
    case at::kDouble: return LTC_FLOAT64;
    case at::kInt: return LTC_INT32;
    case at::kLong: return LTC_INT64;
    default: return -1;
    }
}

ltc_status check_shape(const int64_t *shape, int ndim, ltc_dtype dtype, std::vector<int64_t> *out) {
    if (ndim < 0 || ndim > LTC_MAX_DIMS)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ndim %d is not valid: use 0 to %d", ndim, LTC_MAX_DIMS);
    if (ndim > 0 && shape == nullptr)
        return fail(LTC_ERR_INVALID_ARGUMENT, "shape is NULL but ndim is %d", ndim);
    size_t elem = ltc_dtype_size(dtype);
    if (elem == 0) {
        at::ScalarType st;
        return to_scalar_type(dtype, &st);
    }
    out->assign(shape, shape + ndim);
    int64_t bytes = (int64_t)elem;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 1)
            return fail(LTC_ERR_INVALID_ARGUMENT, "shape[%d] is %lld: each size must be 1 or more", i,
                        (long long)shape[i]);
        if (__builtin_mul_overflow(bytes, shape[i], &bytes))
            return fail(LTC_ERR_INVALID_ARGUMENT, "shape %s of %s is too large: more than 2^63 bytes",
                        shape_text(*out).c_str(), ltc_dtype_name(dtype));
    }
    return LTC_OK;
}

std::string shape_text(at::IntArrayRef sizes) {
    std::string s = "[";
    for (size_t i = 0; i < sizes.size(); i++) {
        if (i)
            s += ", ";
        s += std::to_string(sizes[i]);
    }
    return s + "]";
}

// Defined in cuda.cpp (the real facts when LibTorch has CUDA, nothing otherwise).
void fill_cuda_build_info(ltc_build_info *out);

}  // namespace ltc

extern "C" {

const char *ltc_version(void) { return LTC_VERSION_STRING; }
int ltc_version_number(void) { return LTC_VERSION_NUMBER; }

const char *ltc_status_string(ltc_status status) {
    switch (ltc::enum_int(status)) {
    case LTC_OK: return "LTC_OK";
    case LTC_ERR_INVALID_ARGUMENT: return "LTC_ERR_INVALID_ARGUMENT";
    case LTC_ERR_CUDA_UNAVAILABLE: return "LTC_ERR_CUDA_UNAVAILABLE";
    case LTC_ERR_DEVICE: return "LTC_ERR_DEVICE";
    case LTC_ERR_OUT_OF_MEMORY: return "LTC_ERR_OUT_OF_MEMORY";
    case LTC_ERR_TORCH: return "LTC_ERR_TORCH";
    case LTC_ERR_DISTRIBUTED: return "LTC_ERR_DISTRIBUTED";
    case LTC_ERR_TIMEOUT: return "LTC_ERR_TIMEOUT";
    case LTC_ERR_UNSUPPORTED: return "LTC_ERR_UNSUPPORTED";
    case LTC_ERR_INTERNAL: return "LTC_ERR_INTERNAL";
    case LTC_ERR_IO: return "LTC_ERR_IO";
    }
    return "LTC_ERR_UNKNOWN";
}

const char *ltc_last_error(void) { return last_error.c_str(); }

ltc_status ltc_build_info_get(ltc_build_info *out) {
    LTC_CHECK_NOT_NULL(out);
    LTC_TRY {
        ltc_build_info info{};
        info.torch_version = TORCH_VERSION;
#ifdef LTC_WITH_DISTRIBUTED
        info.distributed = 1;
#endif
        ltc::fill_cuda_build_info(&info);
        *out = info;
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_device_parse(ltc_device *out, const char *text) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(text);
    const char *valid = "valid: \"cpu\", \"cuda\" or \"cuda:N\" with N a device index";
    if (strcmp(text, "cpu") == 0) {
        *out = ltc_device{LTC_DEVICE_CPU, 0};
        return LTC_OK;
    }
    if (strcmp(text, "cuda") == 0) {
        *out = ltc_device{LTC_DEVICE_CUDA, -1};
        return LTC_OK;
    }
    if (strncmp(text, "cuda:", 5) == 0) {
        const char *digits = text + 5;
        const char *significant = digits + strspn(digits, "0");  // leading zeros: "cuda:007" is cuda:7
        bool ok = *digits != '\0' && strspn(digits, "0123456789") == strlen(digits) && strlen(significant) <= 10;
        if (ok) {
            long long v = strtoll(significant, nullptr, 10);
            if (v <= INT_MAX) {
                *out = ltc_device{LTC_DEVICE_CUDA, (int)v};
                return LTC_OK;
            }
        }
    }
    return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "device \"%.64s\" is not valid (%s)", text, valid);
}

int ltc_device_format(char *buf, size_t size, ltc_device device) {
    switch (ltc::enum_int(device.type)) {
    case LTC_DEVICE_CPU: return snprintf(buf, size, "cpu");
    case LTC_DEVICE_CUDA:
        return device.index < 0 ? snprintf(buf, size, "cuda") : snprintf(buf, size, "cuda:%d", device.index);
    }
    return -1;
}

int ltc_cuda_is_available(void) { return ltc::cuda_device_count() > 0; }

ltc_status ltc_cuda_device_count(int *out) {
    LTC_CHECK_NOT_NULL(out);
    *out = ltc::cuda_device_count();
    return LTC_OK;
}

ltc_status ltc_cuda_synchronize(ltc_device device) {
    LTC_TRY {
        int index = -1;
        LTC_RETURN_IF_ERROR(ltc::cuda_index(&index, __func__, "device", device));
        c10::Device dev(c10::kCPU);
        LTC_RETURN_IF_ERROR(ltc::to_c10_device(device, &dev));
        torch::cuda::synchronize(index);
        return LTC_OK;
    }
    LTC_CATCH
}

// ---- runtime settings

void ltc_manual_seed(uint64_t seed) {
    try {
        torch::manual_seed(seed);
    } catch (...) {
    }
}

ltc_status ltc_num_threads_set(int n) {
    if (n < 1 || n > LTC_NUM_THREADS_MAX)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "ltc_num_threads_set: %d threads is not valid: use 1 to %d (LTC_NUM_THREADS_MAX)", n,
                    LTC_NUM_THREADS_MAX);
    LTC_TRY {
        at::set_num_threads(n);
        return LTC_OK;
    }
    LTC_CATCH
}

int ltc_num_threads_get(void) {
    try {
        return at::get_num_threads();
    } catch (...) {
        return 1;
    }
}

// c10's level: FLAGS_caffe2_log_level (0 INFO .. 3 FATAL), read by LOG(...) and c10d's C10D_WARNING.
ltc_status ltc_log_level_set(ltc_log_level level) {
    const int v = ltc::enum_int(level);
    if (v < LTC_LOG_INFO || v > LTC_LOG_FATAL)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT,
                         "ltc_log_level_set: level %d is not valid: use LTC_LOG_INFO (0), LTC_LOG_WARNING (1), LTC_LOG_ERROR "
                         "(2) or LTC_LOG_FATAL (3)",
                         v);
    FLAGS_caffe2_log_level = v;
    return LTC_OK;
}

ltc_log_level ltc_log_level_get(void) {
    const int v = FLAGS_caffe2_log_level;
    return (ltc_log_level)std::clamp(v, (int)LTC_LOG_INFO, (int)LTC_LOG_FATAL);
}

ltc_status ltc_log_level_init(ltc_log_level fallback) {
    LTC_RETURN_IF_ERROR(ltc_log_level_set(fallback));
    const char *env = getenv("TORCH_CPP_LOG_LEVEL");
    if (!env || !*env)
        return LTC_OK;
    static const char *const names[] = {"INFO", "WARNING", "ERROR", "FATAL"};
    for (int v = LTC_LOG_INFO; v <= LTC_LOG_FATAL; v++)
        if (strcasecmp(env, names[v]) == 0 || (env[0] == '0' + v && env[1] == '\0'))
            return ltc_log_level_set((ltc_log_level)v);
    return ltc::fail(LTC_ERR_INVALID_ARGUMENT,
                     "TORCH_CPP_LOG_LEVEL=\"%.32s\" is not valid: use INFO, WARNING, ERROR or FATAL (or 0 to 3), or unset it",
                     env);
}

const char *ltc_dtype_name(ltc_dtype dtype) {
    switch (ltc::enum_int(dtype)) {
    case LTC_FLOAT32: return "float32";
    case LTC_FLOAT64: return "float64";
    case LTC_INT32: return "int32";
    case LTC_INT64: return "int64";
    }
    return "unknown";
}

size_t ltc_dtype_size(ltc_dtype dtype) {
    switch (ltc::enum_int(dtype)) {
    case LTC_FLOAT32: return 4;
    case LTC_FLOAT64: return 8;
    case LTC_INT32: return 4;
    case LTC_INT64: return 8;
    }
    return 0;
}

ltc_status ltc_dtype_parse(ltc_dtype *out, const char *text) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(text);
    static const struct {
        const char *name;
        ltc_dtype dtype;
    } names[] = {{"float32", LTC_FLOAT32}, {"float", LTC_FLOAT32}, {"float64", LTC_FLOAT64}, {"double", LTC_FLOAT64},
                 {"int32", LTC_INT32},     {"int", LTC_INT32},     {"int64", LTC_INT64},     {"long", LTC_INT64}};
    for (const auto &n : names)
        if (strcmp(text, n.name) == 0) {
            *out = n.dtype;
            return LTC_OK;
        }
    return ltc::fail(LTC_ERR_INVALID_ARGUMENT,
                     "dtype \"%.64s\" is not valid (valid: float32, float64, int32, int64)", text);
}

}  // extern "C"

// The C API of ltc/model.h over torch::inductor::AOTIModelPackageLoader: load (after the package checks),
// run (inputs checked against what the package records, the current CUDA stream passed explicitly),
// queries, free. LibTorch's loader and runner do the work.
#include "model_internal.hpp"

#include <ATen/DynamicLibrary.h>
#include <c10/core/ScalarType.h>
#include <torch/csrc/inductor/aoti_package/model_package_loader.h>
#ifdef LTC_TORCH_HAS_CUDA_HEADERS
#include <c10/cuda/CUDAStream.h>
#endif

#include <memory>
#include <mutex>

namespace {

struct Io {
    std::string name, dtype_name;  // dtype_name "unknown" when not recorded
    int dtype = -1;                // ltc_dtype, -1 when unknown or not one of ltc's
    bool has_dtype = false;
    at::ScalarType scalar_type = at::ScalarType::Undefined;
    int ndim = -1;
    int64_t shape[LTC_MAX_DIMS] = {};
};

}  // namespace

struct ltc_model {
    std::unique_ptr<torch::inductor::AOTIModelPackageLoader> loader;
    torch::inductor::AOTIModelContainerRunner *runner = nullptr;
    c10::Device device{c10::kCPU};
    std::map<std::string, std::string> metadata;
    std::vector<Io> inputs, outputs;
};

namespace {

using torch::inductor::AOTIModelContainerRunner;

// The runner's container and its .so, reached through pointers to its protected members (formed in a
// derived class, as C++ allows), for the container's C API: its input and output counts and names.
struct RunnerAccess : AOTIModelContainerRunner {
    static AOTInductorModelContainerHandle handle(AOTIModelContainerRunner *r) {
        return r->*(&RunnerAccess::container_handle_);
    }
    static void *sym(AOTIModelContainerRunner *r, const char *name) { return (r->*(&RunnerAccess::model_so_))->sym(name); }
};

std::mutex load_mutex;  // LibTorch's loader parses JSON into a function-level static: loads take turns

// The container's names of its inputs (or outputs), each completed by the exporter's record when the
// package has one for every tensor.
std::vector<Io> describe(AOTIModelContainerRunner *r, bool inputs, const std::string &recorded) {
    auto count = (decltype(&AOTInductorModelContainerGetNumInputs))RunnerAccess::sym(
        r, inputs ? "AOTInductorModelContainerGetNumInputs" : "AOTInductorModelContainerGetNumOutputs");
    auto name = (decltype(&AOTInductorModelContainerGetInputName))RunnerAccess::sym(
        r, inputs ? "AOTInductorModelContainerGetInputName" : "AOTInductorModelContainerGetOutputName");
    size_t n = 0;
    TORCH_CHECK(count(RunnerAccess::handle(r), &n) == 0, "the model cannot say how many tensors it takes or returns");
    std::vector<ltc_pt2::IoSpec> specs;
    bool have = ltc_pt2::parse_io_specs(recorded, &specs) && specs.size() == n;
    std::vector<Io> v(n);
    for (size_t i = 0; i < n; i++) {
        const char *compiled = nullptr;
        v[i].name = name(RunnerAccess::handle(r), i, &compiled) == 0 && compiled ? compiled : "";
        v[i].dtype_name = "unknown";
        if (!have)
            continue;
        const auto &names = c10::getStringToDtypeMap();
        auto st = names.find(specs[i].dtype);
        v[i].name = specs[i].name;
        v[i].ndim = specs[i].ndim;
        std::copy(specs[i].shape, specs[i].shape + LTC_MAX_DIMS, v[i].shape);
        if (st != names.end()) {
            v[i].has_dtype = true;
            v[i].scalar_type = st->second;
            v[i].dtype_name = c10::getDtypeNames(st->second).first;
            v[i].dtype = ltc::from_scalar_type(st->second);
        }
    }
    return v;
}

std::string dims_text(const int64_t *shape, int ndim) {
    std::string s = "[";
    for (int d = 0; d < ndim; d++)
        s += (d ? ", " : "") + std::to_string(shape[d]);
    return s + "]";
}

// "x: float32 [-1, 64]", or the name alone when nothing is recorded.
std::string io_text(const Io &io) {
    std::string s = io.name.empty() ? "unnamed" : io.name;
    if (io.has_dtype)
        s += ": " + io.dtype_name;
    if (io.ndim >= 0)
        s += (io.has_dtype ? " " : ": ") + dims_text(io.shape, io.ndim);
    return s;
}

std::string io_list(const std::vector<Io> &v) {
    std::string s;
    for (size_t i = 0; i < v.size() && i < 4; i++)
        s += (i ? ", " : "") + io_text(v[i]);
    return v.size() > 4 ? s + ", ..." : s;
}

ltc_status check_options(const ltc_model_options &o) {
    if (o.version < 1 || o.version > LTC_MODEL_OPTIONS_VERSION)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "ltc_model_options.version %u is not known: use LTC_MODEL_OPTIONS_INIT",
                         o.version);
    if (o.device_index < -1)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT,
                         "ltc_model_options.device_index %d is not valid: use -1 (the current GPU) or 0 and up",
                         o.device_index);
    if (o.runners < 0 || o.runners > LTC_MODEL_RUNNERS_MAX)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "ltc_model_options.runners %d is not valid: use 0 to %d", o.runners,
                         LTC_MODEL_RUNNERS_MAX);
    if (o.check_in_child != 0 && o.check_in_child != 1)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "ltc_model_options.check_in_child %d is not valid: use 0 or 1",
                         o.check_in_child);
    if (o.model_name && !*o.model_name)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "ltc_model_options.model_name is \"\": use NULL for \"model\", or a name");
    return LTC_OK;
}

// The checks of one input against the model's record of it.
ltc_status check_input(const ltc_model *m, size_t i, const at::Tensor &t) {
    const Io &io = m->inputs[i];
    std::string what = "input " + std::to_string(i) + " (" + (io.name.empty() ? "unnamed" : io.name) + ")";
    if (t.device().type() != m->device.type() || (m->device.is_cuda() && t.device().index() != m->device.index()))
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "%s is on %s, and the model runs on %s: move it there first (ltc_tensor_to)",
                         what.c_str(), t.device().str().c_str(), m->device.str().c_str());
    if (io.has_dtype && t.scalar_type() != io.scalar_type)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "%s is %s, and the model takes %s", what.c_str(),
                         c10::getDtypeNames(t.scalar_type()).first.c_str(), io.dtype_name.c_str());
    bool fits = io.ndim < 0 || t.dim() == io.ndim;
    for (int d = 0; fits && d < io.ndim; d++)
        fits = io.shape[d] == -1 || io.shape[d] == t.size(d);
    if (!fits)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "%s has shape %s, and the model takes %s (-1: any size)", what.c_str(),
                         ltc::shape_text(t.sizes()).c_str(), dims_text(io.shape, io.ndim).c_str());
    return LTC_OK;
}

}  // namespace

ltc_status ltc_model_load(ltc_model **out, const char *path, const ltc_model_options *options) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(path);
    const ltc_model_options o = options ? *options : ltc_model_options LTC_MODEL_OPTIONS_INIT;
    LTC_RETURN_IF_ERROR(check_options(o));
    LTC_TRY {
        std::string name = o.model_name ? o.model_name : "model";
        auto m = std::make_unique<ltc_model>();
        {
            ltc_pt2::Zip zip;
            ltc_pt2::Package pkg;
            LTC_RETURN_IF_ERROR(ltc_pt2::package_read(pkg, zip, path, name));
            LTC_RETURN_IF_ERROR(ltc_pt2::check_package(pkg, o.device_index, &m->device));
        }
        if (o.check_in_child)
            LTC_RETURN_IF_ERROR(ltc_pt2::load_in_child(path, name, m->device, o.runners));
        {
            std::lock_guard<std::mutex> lock(load_mutex);
            int index = m->device.is_cuda() ? m->device.index() : -1;
            m->loader = std::make_unique<torch::inductor::AOTIModelPackageLoader>(
                path, name, o.runners == 0, (size_t)std::max(o.runners, 1), (c10::DeviceIndex)index);
        }
        m->runner = m->loader->get_runner();
        for (auto &kv : m->loader->get_metadata())
            m->metadata.insert(kv);
        if (m->metadata["AOTI_DEVICE_KEY"] == "cuda" && !m->device.is_cuda())  // metadata unread before loading
            m->device = c10::Device(c10::kCUDA, (c10::DeviceIndex)(o.device_index >= 0 ? o.device_index : 0));
        m->inputs = describe(m->runner, true, m->metadata["ltc.inputs"]);
        m->outputs = describe(m->runner, false, m->metadata["ltc.outputs"]);
        *out = m.release();
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_model_free(ltc_model *model) { ltc::delete_quietly(model); }

ltc_status ltc_model_run(ltc_tensor **outputs, size_t n_outputs, ltc_model *model, const ltc_tensor *const *inputs,
                         size_t n_inputs) {
    for (size_t i = 0; outputs && i < n_outputs; i++)
        outputs[i] = nullptr;
    LTC_CHECK_NOT_NULL(model);
    if (n_outputs > 0)
        LTC_CHECK_NOT_NULL(outputs);
    if (n_inputs > 0)
        LTC_CHECK_NOT_NULL(inputs);
    LTC_TRY {
        if (n_inputs != model->inputs.size())
            return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "the model takes %zu input%s (%s), and n_inputs is %zu",
                             model->inputs.size(), model->inputs.size() == 1 ? "" : "s", io_list(model->inputs).c_str(),
                             n_inputs);
        if (n_outputs != model->outputs.size())
            return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "the model returns %zu output%s, and n_outputs is %zu",
                             model->outputs.size(), model->outputs.size() == 1 ? "" : "s", n_outputs);
        std::vector<at::Tensor> in;
        in.reserve(n_inputs);
        for (size_t i = 0; i < n_inputs; i++) {
            if (!inputs[i])
                return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "inputs[%zu] is NULL", i);
            const at::Tensor &t = inputs[i]->t;
            LTC_RETURN_IF_ERROR(check_input(model, i, t));
            in.push_back(t.is_contiguous() ? t : t.contiguous());
        }
        void *stream = nullptr;  // the CPU; on a GPU the model device's current stream, not the current device's
#ifdef LTC_TORCH_HAS_CUDA_HEADERS
        if (model->device.is_cuda())
            stream = c10::cuda::getCurrentCUDAStream(model->device.index()).stream();
#endif
        std::vector<at::Tensor> res = model->runner->run(in, stream);
        if (res.size() != n_outputs)
            return ltc::fail(LTC_ERR_INTERNAL, "the model returned %zu tensors, and says it returns %zu", res.size(),
                             n_outputs);
        std::vector<std::unique_ptr<ltc_tensor>> held;
        for (at::Tensor &t : res)
            held.emplace_back(ltc::wrap(std::move(t)));
        for (size_t i = 0; i < n_outputs; i++)
            outputs[i] = held[i].release();
        return LTC_OK;
    }
    LTC_CATCH
}

int ltc_model_input_count(const ltc_model *model) {
    if (!model)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "ltc_model_input_count: argument 'model' is NULL"), -1;
    return (int)model->inputs.size();
}

int ltc_model_output_count(const ltc_model *model) {
    if (!model)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "ltc_model_output_count: argument 'model' is NULL"), -1;
    return (int)model->outputs.size();
}

namespace {

ltc_status io_get(ltc_model_io *out, const std::vector<Io> &v, int index, const char *what) {
    if (index < 0 || (size_t)index >= v.size())
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "%s index %d is out of range: the model has %zu (valid: 0 to %zu)",
                         what, index, v.size(), v.size() ? v.size() - 1 : 0);
    const Io &io = v[(size_t)index];
    ltc_model_io r{};
    r.name = io.name.c_str();
    r.dtype_name = io.dtype_name.c_str();
    int dtype = io.dtype;
    std::memcpy(&r.dtype, &dtype, sizeof dtype);  // -1 is not an enumerator: stored as its bytes
    r.ndim = io.ndim;
    std::copy(io.shape, io.shape + LTC_MAX_DIMS, r.shape);
    *out = r;
    return LTC_OK;
}

}  // namespace

ltc_status ltc_model_input(ltc_model_io *out, const ltc_model *model, int index) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(model);
    return io_get(out, model->inputs, index, "input");
}

ltc_status ltc_model_output(ltc_model_io *out, const ltc_model *model, int index) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(model);
    return io_get(out, model->outputs, index, "output");
}

ltc_status ltc_model_device(ltc_device *out, const ltc_model *model) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(model);
    *out = ltc::from_c10_device(model->device);
    return LTC_OK;
}

const char *ltc_model_metadata(const ltc_model *model, const char *key) {
    if (!model || !key)
        return ltc::fail(LTC_ERR_INVALID_ARGUMENT, "ltc_model_metadata: argument '%s' is NULL", model ? "key" : "model"),
               nullptr;
    try {
        auto it = model->metadata.find(key);
        return it == model->metadata.end() ? nullptr : it->second.c_str();
    } catch (...) {
        return ltc::handle_exception(), nullptr;
    }
}

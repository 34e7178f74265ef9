// Modules (ltc_module_*): torch::nn's Linear and ReLU, and a Sequential of any of them, each behind one
// handle that Sequentials share; forward, to, train/eval, parameters under PyTorch's names. Data
// parallel over them: parallel.cpp.
#include "internal.hpp"

#include <torch/nn/modules/activation.h>

#include <memory>

using ltc::fail;
using torch::nn::LinearImpl;
using torch::nn::Module;
using torch::nn::ReLUImpl;

namespace ltc {

namespace {

at::Tensor forward_any(Module &m, const at::Tensor &x) {
    if (auto *l = dynamic_cast<LinearImpl *>(&m))
        return l->forward(x);
    if (auto *r = dynamic_cast<ReLUImpl *>(&m))
        return r->forward(x);
    return dynamic_cast<SequentialImpl &>(m).forward(x);
}

// "Linear(4, 16)", "ReLU()", "Sequential(3 modules)": a module in a message.
std::string describe(const Module &m) {
    if (auto *l = dynamic_cast<const LinearImpl *>(&m))
        return fmt("Linear(%lld, %lld%s)", (long long)l->options.in_features(), (long long)l->options.out_features(),
                   l->options.bias() ? "" : ", bias=False");
    if (dynamic_cast<const ReLUImpl *>(&m))
        return "ReLU()";
    size_t n = m.children().size();
    return fmt("Sequential(%zu module%s)", n, n == 1 ? "" : "s");
}

}  // namespace

at::Tensor SequentialImpl::forward(at::Tensor x) {
    for (const auto &c : children())
        x = forward_any(*c, x);
    return x;
}

std::shared_ptr<Module> SequentialImpl::clone(const std::optional<c10::Device> &device) const {
    auto copy = std::make_shared<SequentialImpl>();
    for (const auto &c : named_children())
        copy->register_module(c.key(), c.value()->clone(device));
    copy->train(is_training());
    return copy;
}

std::string module_fit(const Module &m, std::vector<int64_t> &sizes, at::ScalarType dtype, c10::Device device,
                       const std::string &where) {
    if (auto *l = dynamic_cast<const LinearImpl *>(&m)) {
        const at::Tensor &w = l->weight;
        const std::string who = where.empty() ? describe(m) : where + ", " + describe(m) + ",";
        if (sizes.empty() || sizes.back() != w.size(1))
            return fmt("%s gets an input of shape %s: it takes [..., %lld]", who.c_str(), shape_text(sizes).c_str(),
                       (long long)w.size(1));
        if (dtype != w.scalar_type())
            return fmt("%s gets a %s input, but its weight is %s: pass %s", who.c_str(), dtype_text(dtype).c_str(),
                       dtype_text(w.scalar_type()).c_str(), dtype_text(w.scalar_type()).c_str());
        if (device != w.device())
            return fmt("%s is on %s, but its input is on %s: move one with ltc_tensor_to or ltc_module_to", who.c_str(),
                       w.device().str().c_str(), device.str().c_str());
        sizes.back() = w.size(0);
        return "";
    }
    for (const auto &c : m.named_children()) {
        std::string bad = module_fit(*c.value(), sizes, dtype, device, (where.empty() ? "module " : where + ".") + c.key());
        if (!bad.empty())
            return bad;
    }
    return "";
}

at::Tensor module_forward(Module &m, const at::Tensor &x) {
    return forward_any(m, x);
}

void move_module(Module &m, c10::Device device) {
    m.to(device);
    // Module::to moves the parameters in place but leaves their gradients where they were
    for (auto &p : m.parameters())
        if (p.grad().defined() && p.grad().device() != device)
            p.mutable_grad() = p.grad().to(device);
}

}  // namespace ltc

namespace {

// Whether tree is target or holds it, at any depth.
bool holds(const Module &tree, const Module *target) {
    if (&tree == target)
        return true;
    for (const auto &c : tree.children())
        if (holds(*c, target))
            return true;
    return false;
}

ltc_status new_module(ltc_module **out, std::shared_ptr<Module> m) {
    *out = new ltc_module{std::move(m)};
    return LTC_OK;
}

}  // namespace

extern "C" {

ltc_status ltc_module_linear_new(ltc_module **out, int64_t in_features, int64_t out_features, int has_bias) {
    const char *fn = "ltc_module_linear_new";
    LTC_CHECK_OUT(out);
    if (in_features < 1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: in_features %lld is not valid: use 1 or more", fn, (long long)in_features);
    if (out_features < 1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: out_features %lld is not valid: use 1 or more", fn,
                    (long long)out_features);
    if (has_bias != 0 && has_bias != 1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: has_bias %d is not valid: use 0 or 1", fn, has_bias);
    LTC_TRY {
        return new_module(out, std::make_shared<LinearImpl>(
                                   torch::nn::LinearOptions(in_features, out_features).bias(has_bias == 1)));
    }
    LTC_CATCH
}

ltc_status ltc_module_relu_new(ltc_module **out) {
    LTC_CHECK_OUT(out);
    LTC_TRY { return new_module(out, std::make_shared<ReLUImpl>()); }
    LTC_CATCH
}

ltc_status ltc_module_sequential_new(ltc_module **out) {
    LTC_CHECK_OUT(out);
    LTC_TRY { return new_module(out, std::make_shared<ltc::SequentialImpl>()); }
    LTC_CATCH
}

ltc_status ltc_module_sequential_append(ltc_module *seq, ltc_module *child) {
    const char *fn = "ltc_module_sequential_append";
    LTC_CHECK_NOT_NULL(seq);
    LTC_CHECK_NOT_NULL(child);
    LTC_TRY {
        auto s = std::dynamic_pointer_cast<ltc::SequentialImpl>(seq->m);
        if (!s)
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: seq is a %s, not a Sequential: append to one made by "
                        "ltc_module_sequential_new", fn, ltc_module_kind(seq));
        if (holds(*child->m, s.get()))
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: child %s seq itself: appending it would make a cycle", fn,
                        child->m.get() == s.get() ? "is" : "holds");
        s->register_module(std::to_string(s->children().size()), child->m);
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_module_free(ltc_module *module) {
    ltc::delete_quietly(module);
}

const char *ltc_module_kind(const ltc_module *module) {
    if (!module) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_module_kind: argument 'module' is NULL");
        return "";
    }
    const Module *m = module->m.get();
    return dynamic_cast<const LinearImpl *>(m) ? "Linear" : dynamic_cast<const ReLUImpl *>(m) ? "ReLU" : "Sequential";
}

ltc_status ltc_module_forward(ltc_tensor **out, ltc_module *module, const ltc_tensor *x) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(module);
    LTC_CHECK_NOT_NULL(x);
    LTC_TRY {
        std::vector<int64_t> sizes = x->t.sizes().vec();
        std::string bad = ltc::module_fit(*module->m, sizes, x->t.scalar_type(), x->t.device(), "");
        if (!bad.empty())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_module_forward: %s", bad.c_str());
        *out = ltc::wrap(ltc::module_forward(*module->m, x->t));
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_module_to(ltc_module *module, ltc_device device) {
    LTC_CHECK_NOT_NULL(module);
    LTC_TRY {
        c10::Device dev(c10::kCPU);
        LTC_RETURN_IF_ERROR(ltc::to_c10_device(device, &dev));
        ltc::move_module(*module->m, dev);
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_module_train(ltc_module *module, int training) {
    LTC_CHECK_NOT_NULL(module);
    if (training != 0 && training != 1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_module_train: training %d is not valid: use 1 (train) or 0 (eval)",
                    training);
    LTC_TRY {
        module->m->train(training == 1);
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_module_is_training(int *out, const ltc_module *module) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(module);
    *out = module->m->is_training() ? 1 : 0;
    return LTC_OK;
}

ltc_status ltc_module_parameters(ltc_tensor_list **out, const ltc_module *module) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(module);
    LTC_TRY {
        std::vector<std::string> names;
        std::vector<at::Tensor> tensors;
        for (const auto &p : module->m->named_parameters(/*recurse=*/true)) {
            names.push_back(p.key());
            tensors.push_back(p.value());
        }
        *out = ltc::new_list(std::move(names), std::move(tensors));
        return LTC_OK;
    }
    LTC_CATCH
}

}  // extern "C"

// Optimizers over any list of tensors (ltc_optimizer_*): SGD, Adam and AdamW, each step one fused ATen
// call per device and dtype, as torch.optim's fused=True.
#include "internal.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <memory>

using ltc::fail;

namespace ltc {

void drop_grads(const std::vector<at::Tensor> &params) {
    for (const auto &p : params) {
        at::Tensor &g = p.mutable_grad();
        if (g.defined()) {
            g.detach_();
            g.reset();
        }
    }
}

std::string grads_check(const std::vector<at::Tensor> &params, const std::vector<std::string> &names,
                        const char *zero_grad) {
    for (size_t i = 0; i < params.size(); i++) {
        const at::Tensor &p = params[i], &g = p.grad();
        if (g.defined() && (g.device() != p.device() || g.scalar_type() != p.scalar_type() || g.sizes() != p.sizes()))
            return "the gradient of " + names[i] + " (" + tensor_text(g) + ") does not match it (" + tensor_text(p) +
                   "): call " + zero_grad + " and compute it again";
    }
    return "";
}

namespace {

// The parameters, gradients and momentum buffers of one SGD call: one device, one dtype, and all taking
// their first step (buffer = gradient) or none.
struct SgdGroup {
    std::vector<at::Tensor> p, g, m;
    bool first;
};

// torch.optim.SGD's per-tensor update (_multi_tensor_sgd), leaving the gradients as they are.
void sgd_foreach(SgdGroup &gr, const SgdSettings &s) {
    std::vector<at::Tensor> g = s.weight_decay != 0 ? at::_foreach_add(gr.g, gr.p, s.weight_decay) : gr.g;
    if (s.momentum != 0) {
        if (gr.first) {
            at::_foreach_copy_(gr.m, g);
        } else {
            at::_foreach_mul_(gr.m, s.momentum);
            at::_foreach_add_(gr.m, g, 1 - s.dampening);
        }
        g = s.nesterov ? at::_foreach_add(g, gr.m, s.momentum) : gr.m;
    }
    at::_foreach_add_(gr.p, g, -s.lr);
}

}  // namespace

void sgd_update(const std::vector<at::Tensor> &params, std::vector<at::Tensor> &momentum, const SgdSettings &s) {
    at::NoGradGuard no_grad;
    std::vector<SgdGroup> groups;
    // Buffers made or moved here, kept only once every update has run: a failed step leaves none
    // half-made, so the next step is still a first step.
    std::vector<std::pair<size_t, at::Tensor>> fresh;
    const bool with_momentum = s.momentum != 0;
    for (size_t i = 0; i < params.size(); i++) {
        const at::Tensor &p = params[i];
        const at::Tensor &g = p.grad();
        if (!g.defined())
            continue;
        at::Tensor m = with_momentum ? momentum[i] : at::Tensor();
        bool first = false;
        if (with_momentum) {
            if (!m.defined()) {
                m = at::empty_like(p, at::MemoryFormat::Contiguous);  // the first step writes it: m = g
                first = true;
                fresh.emplace_back(i, m);
            } else if (m.device() != p.device() || m.scalar_type() != p.scalar_type()) {
                m = m.to(p.options());  // the parameters moved since the last step
                fresh.emplace_back(i, m);
            }
        }
        SgdGroup *grp = nullptr;
        for (auto &gr : groups)
            if (gr.first == first && gr.p[0].device() == p.device() && gr.p[0].scalar_type() == p.scalar_type())
                grp = &gr;
        if (!grp) {
            groups.push_back(SgdGroup{{}, {}, {}, first});
            grp = &groups.back();
        }
        grp->p.push_back(p);
        grp->g.push_back(g);
        if (with_momentum)
            grp->m.push_back(m);
    }
    // One fused call (torch.optim.SGD's fused=True), but for small parameters on the CPU with several
    // intra-op threads the per-tensor ops, as torch.optim.SGD does there by default: ATen's CPU
    // _fused_sgd_ splits any parameter over 16 floats across every thread, a parallel region that costs
    // more than a small model's whole update (9 us a step with 2 threads, measured), where the
    // per-tensor ops stay on one thread below ATen's grain size.
    const bool threads = at::get_num_threads() > 1;
    for (auto &gr : groups) {
        int64_t largest = 0;
        for (const auto &p : gr.p)
            largest = std::max(largest, p.numel());
        if (!gr.p[0].is_cpu() || !threads || largest >= at::internal::GRAIN_SIZE)
            at::_fused_sgd_(gr.p, gr.g, gr.m, s.weight_decay, s.momentum, s.lr, s.dampening, s.nesterov,
                            /*maximize=*/false, gr.first);
        else
            sgd_foreach(gr, s);
    }
    for (auto &f : fresh)
        momentum[f.first] = std::move(f.second);
}

const char *optim_kind_name(OptimKind kind) {
    return kind == OptimKind::sgd ? "SGD" : kind == OptimKind::adam ? "Adam" : "AdamW";
}

std::vector<std::pair<std::string, c10::IValue>> optim_group(const Optimizer &o) {
    if (o.kind == OptimKind::sgd)
        return {{"lr", o.sgd.lr},
                {"momentum", o.sgd.momentum},
                {"dampening", o.sgd.dampening},
                {"weight_decay", o.sgd.weight_decay},
                {"nesterov", o.sgd.nesterov != 0},
                {"maximize", false},
                {"foreach", c10::IValue()},
                {"differentiable", false},
                {"fused", true}};
    return {{"lr", o.adam.lr},
            {"betas", c10::ivalue::Tuple::create(o.adam.beta1, o.adam.beta2)},
            {"eps", o.adam.eps},
            {"weight_decay", o.adam.weight_decay},
            {"amsgrad", o.adam.amsgrad != 0},
            {"maximize", false},
            {"foreach", c10::IValue()},
            {"capturable", false},
            {"differentiable", false},
            {"fused", true},
            {"decoupled_weight_decay", o.kind == OptimKind::adamw}};
}

}  // namespace ltc

namespace {

using ltc::Optimizer;
using ltc::OptimKind;

// The tensors an optimizer can update: floating leaves that require a gradient, each listed once.
ltc_status check_params(const ltc_tensor_list *params, const char *fn) {
    if (params->tensors.empty())
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "%s: the list of parameters is empty: pass the tensors to optimize (ltc_module_parameters)", fn);
    for (size_t i = 0; i < params->tensors.size(); i++) {
        const at::Tensor &t = params->tensors[i];
        const char *name = params->names[i].c_str();
        if (!at::isFloatingType(t.scalar_type()))
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: entry \"%s\" is %s: an optimizer updates floating tensors only", fn,
                        name, ltc::tensor_text(t).c_str());
        if (!t.requires_grad())
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "%s: entry \"%s\" does not require a gradient: call ltc_tensor_set_requires_grad on it first", fn,
                        name);
        if (!t.is_leaf())
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "%s: entry \"%s\" is not a leaf (an operation made it): optimize the tensors it was computed from",
                        fn, name);
        for (size_t j = 0; j < i; j++)
            if (params->tensors[j].is_same(t))
                return fail(LTC_ERR_INVALID_ARGUMENT, "%s: entries \"%s\" and \"%s\" are the same tensor: list each once",
                            fn, params->names[j].c_str(), name);
    }
    return LTC_OK;
}

// A setting outside [lo, hi] (lo_open/hi_open: excluding that end), or not finite.
ltc_status check_range(const char *fn, const char *what, double v, double lo, bool lo_open, double hi, bool hi_open) {
    bool ok = std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
    if (ok)
        return LTC_OK;
    std::string range = std::isinf(hi) ? ltc::fmt("a finite value %s %g", lo_open ? ">" : ">=", lo)
                                       : ltc::fmt("%g %s %s %s %g", lo, lo_open ? "<" : "<=", what, hi_open ? "<" : "<=", hi);
    return fail(LTC_ERR_INVALID_ARGUMENT, "%s: %s %g is not valid: use %s", fn, what, v, range.c_str());
}

ltc_status check_flag(const char *fn, const char *what, int v) {
    if (v == 0 || v == 1)
        return LTC_OK;
    return fail(LTC_ERR_INVALID_ARGUMENT, "%s: %s %d is not valid: use 0 or 1", fn, what, v);
}

ltc_status check_version(const char *fn, unsigned int version, unsigned int want, const char *macro) {
    if (version == want)
        return LTC_OK;
    return fail(LTC_ERR_INVALID_ARGUMENT, "%s: opts->version %u is not valid: use %s (%u), as %s_INIT sets it", fn,
                version, macro, want, macro);
}

constexpr double kInf = INFINITY;

ltc_status check_sgd(const ltc_sgd_options &o, const char *fn) {
    LTC_RETURN_IF_ERROR(check_version(fn, o.version, LTC_SGD_OPTIONS_VERSION, "LTC_SGD_OPTIONS_VERSION"));
    LTC_RETURN_IF_ERROR(check_range(fn, "lr", o.lr, 0, true, kInf, false));
    LTC_RETURN_IF_ERROR(check_range(fn, "momentum", o.momentum, 0, false, 1, true));
    LTC_RETURN_IF_ERROR(check_range(fn, "dampening", o.dampening, 0, false, 1, false));
    LTC_RETURN_IF_ERROR(check_range(fn, "weight_decay", o.weight_decay, 0, false, kInf, false));
    LTC_RETURN_IF_ERROR(check_flag(fn, "nesterov", o.nesterov));
    if (o.nesterov && (o.momentum == 0 || o.dampening != 0))
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "%s: nesterov needs momentum > 0 and dampening 0, but momentum is %g and dampening %g", fn, o.momentum,
                    o.dampening);
    return LTC_OK;
}

ltc_status check_adam(const ltc_adam_options &o, const char *fn) {
    LTC_RETURN_IF_ERROR(check_version(fn, o.version, LTC_ADAM_OPTIONS_VERSION, "LTC_ADAM_OPTIONS_VERSION"));
    LTC_RETURN_IF_ERROR(check_range(fn, "lr", o.lr, 0, true, kInf, false));
    LTC_RETURN_IF_ERROR(check_range(fn, "beta1", o.beta1, 0, false, 1, true));
    LTC_RETURN_IF_ERROR(check_range(fn, "beta2", o.beta2, 0, false, 1, true));
    LTC_RETURN_IF_ERROR(check_range(fn, "eps", o.eps, 0, true, kInf, false));
    LTC_RETURN_IF_ERROR(check_range(fn, "weight_decay", o.weight_decay, 0, false, kInf, false));
    return check_flag(fn, "amsgrad", o.amsgrad);
}

// A new optimizer of kind over params (checked), with state_names' state, none made yet.
ltc_optimizer *make(OptimKind kind, const ltc_tensor_list *params, std::vector<std::string> state_names) {
    auto o = std::make_shared<Optimizer>();
    o->kind = kind;
    o->names = params->names;
    o->params = params->tensors;
    o->state_names = std::move(state_names);
    o->state.assign(o->state_names.size(), std::vector<at::Tensor>(o->params.size()));
    return new ltc_optimizer{std::move(o)};
}

ltc_status adam_new(ltc_optimizer **out, const ltc_tensor_list *params, const ltc_adam_options *opts, OptimKind kind,
                    const char *fn) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(params);
    ltc_adam_options o = LTC_ADAM_OPTIONS_INIT;
    if (opts)
        o = *opts;
    LTC_RETURN_IF_ERROR(check_adam(o, fn));
    LTC_TRY {
        LTC_RETURN_IF_ERROR(check_params(params, fn));
        std::vector<std::string> names = {"step", "exp_avg", "exp_avg_sq"};
        if (o.amsgrad)
            names.push_back("max_exp_avg_sq");
        std::unique_ptr<ltc_optimizer> h(make(kind, params, std::move(names)));
        h->o->adam = o;
        *out = h.release();
        return LTC_OK;
    }
    LTC_CATCH
}

// The parameters, gradients and state of one fused Adam call: one device, one dtype.
struct AdamGroup {
    std::vector<at::Tensor> p, g, m, v, vmax, step;
};

// Parameter i's state k, made (zeros, as torch.optim.Adam makes it) or moved to p's device when needed;
// a tensor made or moved goes to fresh, kept once the step has run.
at::Tensor adam_state(Optimizer &o, size_t k, size_t i, std::vector<std::tuple<size_t, size_t, at::Tensor>> &fresh) {
    const at::Tensor &p = o.params[i];
    at::Tensor t = o.state[k][i];
    const bool is_step = o.state_names[k] == "step";
    if (!t.defined())
        t = is_step ? at::zeros({}, p.options().dtype(at::kFloat)) : at::zeros_like(p, at::MemoryFormat::Contiguous);
    else if (t.device() != p.device())
        t = t.to(p.device());
    else
        return t;
    fresh.emplace_back(k, i, t);
    return t;
}

void adam_update(Optimizer &o) {
    at::NoGradGuard no_grad;
    std::vector<AdamGroup> groups;
    std::vector<std::tuple<size_t, size_t, at::Tensor>> fresh;
    for (size_t i = 0; i < o.params.size(); i++) {
        const at::Tensor &p = o.params[i];
        if (!p.grad().defined())
            continue;
        AdamGroup *grp = nullptr;
        for (auto &gr : groups)
            if (gr.p[0].device() == p.device() && gr.p[0].scalar_type() == p.scalar_type())
                grp = &gr;
        if (!grp) {
            groups.emplace_back();
            grp = &groups.back();
        }
        grp->p.push_back(p);
        grp->g.push_back(p.grad());
        std::vector<at::Tensor> *lists[] = {&grp->step, &grp->m, &grp->v, &grp->vmax};
        for (size_t k = 0; k < o.state_names.size(); k++)
            lists[k]->push_back(adam_state(o, k, i, fresh));
    }
    const ltc_adam_options &a = o.adam;
    for (auto &gr : groups) {
        at::_foreach_add_(gr.step, 1);  // on the device: no host sync, as torch.optim's fused Adam
        if (o.kind == OptimKind::adam)
            at::_fused_adam_(gr.p, gr.g, gr.m, gr.v, gr.vmax, gr.step, a.lr, a.beta1, a.beta2, a.weight_decay, a.eps,
                             a.amsgrad != 0, /*maximize=*/false);
        else
            at::_fused_adamw_(gr.p, gr.g, gr.m, gr.v, gr.vmax, gr.step, a.lr, a.beta1, a.beta2, a.weight_decay, a.eps,
                              a.amsgrad != 0, /*maximize=*/false);
    }
    for (auto &f : fresh)
        o.state[std::get<0>(f)][std::get<1>(f)] = std::move(std::get<2>(f));
}

// "state.<i>.<name>" entries of the state made so far.
ltc_tensor_list *state_list(const Optimizer &o) {
    std::vector<std::string> names;
    std::vector<at::Tensor> tensors;
    for (size_t i = 0; i < o.params.size(); i++)
        for (size_t k = 0; k < o.state_names.size(); k++)
            if (o.state[k][i].defined()) {
                names.push_back("state." + std::to_string(i) + "." + o.state_names[k]);
                tensors.push_back(o.state[k][i]);
            }
    return ltc::new_list(std::move(names), std::move(tensors));
}

}  // namespace

extern "C" {

ltc_status ltc_optimizer_sgd_new(ltc_optimizer **out, const ltc_tensor_list *params, const ltc_sgd_options *opts) {
    const char *fn = "ltc_optimizer_sgd_new";
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(params);
    ltc_sgd_options o = LTC_SGD_OPTIONS_INIT;
    if (opts)
        o = *opts;
    LTC_RETURN_IF_ERROR(check_sgd(o, fn));
    LTC_TRY {
        LTC_RETURN_IF_ERROR(check_params(params, fn));
        std::vector<std::string> names;
        if (o.momentum != 0)
            names.push_back("momentum_buffer");
        std::unique_ptr<ltc_optimizer> h(make(OptimKind::sgd, params, std::move(names)));
        h->o->sgd = o;
        *out = h.release();
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_optimizer_adam_new(ltc_optimizer **out, const ltc_tensor_list *params, const ltc_adam_options *opts) {
    return adam_new(out, params, opts, OptimKind::adam, "ltc_optimizer_adam_new");
}

ltc_status ltc_optimizer_adamw_new(ltc_optimizer **out, const ltc_tensor_list *params, const ltc_adam_options *opts) {
    return adam_new(out, params, opts, OptimKind::adamw, "ltc_optimizer_adamw_new");
}

void ltc_optimizer_free(ltc_optimizer *optimizer) {
    ltc::delete_quietly(optimizer);
}

ltc_status ltc_optimizer_zero_grad(ltc_optimizer *optimizer) {
    LTC_CHECK_NOT_NULL(optimizer);
    LTC_TRY {
        ltc::drop_grads(optimizer->o->params);
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_optimizer_step(ltc_optimizer *optimizer) {
    LTC_CHECK_NOT_NULL(optimizer);
    LTC_TRY {
        Optimizer &o = *optimizer->o;
        std::string bad = ltc::grads_check(o.params, o.names, "ltc_optimizer_zero_grad");
        if (!bad.empty())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_optimizer_step: %s", bad.c_str());
        if (o.kind != OptimKind::sgd) {
            adam_update(o);
            return LTC_OK;
        }
        ltc::SgdSettings s;
        s.lr = o.sgd.lr;
        s.momentum = o.sgd.momentum;
        s.dampening = o.sgd.dampening;
        s.weight_decay = o.sgd.weight_decay;
        s.nesterov = o.sgd.nesterov != 0;
        std::vector<at::Tensor> none;
        ltc::sgd_update(o.params, o.state.empty() ? none : o.state[0], s);
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_optimizer_state(ltc_tensor_list **out, const ltc_optimizer *optimizer) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(optimizer);
    LTC_TRY {
        *out = state_list(*optimizer->o);
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_optimizer_parameters(ltc_tensor_list **out, const ltc_optimizer *optimizer) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(optimizer);
    LTC_TRY {
        *out = ltc::new_list(optimizer->o->names, optimizer->o->params);
        return LTC_OK;
    }
    LTC_CATCH
}

}  // extern "C"

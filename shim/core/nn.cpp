// nn and optim: nn.Linear, MSE loss, SGD.
#include "internal.hpp"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <memory>

using ltc::fail;

namespace ltc {

void sgd_zero_grad(ltc_sgd *sgd) {
    for (auto &p : sgd->params) {
        at::Tensor &g = p.mutable_grad();
        if (g.defined()) {
            g.detach_();
            g.reset();
        }
    }
}

std::string sgd_check(const ltc_sgd *sgd) {
    for (const auto &p : sgd->params) {
        const at::Tensor &g = p.grad();
        if (g.defined() && (g.device() != p.device() || g.scalar_type() != p.scalar_type() || g.sizes() != p.sizes()))
            return "a gradient (" + std::string(c10::toString(g.scalar_type())) + " " + shape_text(g.sizes()) + " on " +
                   g.device().str() + ") does not match its parameter (" + c10::toString(p.scalar_type()) + " " +
                   shape_text(p.sizes()) + " on " + p.device().str() + "): call ltc_sgd_zero_grad and compute it again";
    }
    return "";
}

void sgd_step(ltc_sgd *sgd) {
    at::NoGradGuard no_grad;
    // The parameters, gradients and momentum buffers of one fused call: one device, one dtype, and all
    // taking their first step (buffer = gradient) or none. A Linear's parameters make one group.
    struct Group {
        std::vector<at::Tensor> p, g, m;
        bool first;
    };
    std::vector<Group> groups;
    // Buffers made or moved here, kept only once every update has run: a failed step leaves none
    // half-made, so the next step is still a first step.
    std::vector<std::pair<size_t, at::Tensor>> fresh;
    const bool with_momentum = sgd->momentum_factor != 0;
    for (size_t i = 0; i < sgd->params.size(); i++) {
        const at::Tensor &p = sgd->params[i];
        const at::Tensor &g = p.grad();
        if (!g.defined())
            continue;
        at::Tensor m = sgd->momentum[i];
        bool first = false;
        if (with_momentum) {
            if (!m.defined()) {
                m = at::empty_like(p, at::MemoryFormat::Contiguous);  // the first step writes it: m = g
                first = true;
                fresh.emplace_back(i, m);
            } else if (m.device() != p.device() || m.scalar_type() != p.scalar_type()) {
                m = m.to(p.options());  // the module moved since the last step (ltc_linear_to)
                fresh.emplace_back(i, m);
            }
        }
        Group *grp = nullptr;
        for (auto &gr : groups)
            if (gr.first == first && gr.p[0].device() == p.device() && gr.p[0].scalar_type() == p.scalar_type())
                grp = &gr;
        if (!grp) {
            groups.push_back(Group{{}, {}, {}, first});
            grp = &groups.back();
        }
        grp->p.push_back(p);
        grp->g.push_back(g);
        if (with_momentum)
            grp->m.push_back(m);
    }
    // torch::optim::SGD's update, with dampening 0: m = momentum * m + g (m = g on the first step);
    // p -= lr * m (p -= lr * g without momentum). One fused call (torch.optim.SGD's fused=True), but
    // for small parameters on the CPU with several intra-op threads the per-tensor ops, as
    // torch.optim.SGD does there by default: ATen's CPU _fused_sgd_ splits any parameter over 16
    // floats across every thread, a parallel region that costs more than a small model's whole update
    // (9 us a step with 2 threads, measured), where the per-tensor ops stay on one thread below
    // ATen's grain size.
    const bool threads = at::get_num_threads() > 1;
    for (auto &gr : groups) {
        int64_t largest = 0;
        for (const auto &p : gr.p)
            largest = std::max(largest, p.numel());
        if (!gr.p[0].is_cpu() || !threads || largest >= at::internal::GRAIN_SIZE) {
            at::_fused_sgd_(gr.p, gr.g, gr.m, /*weight_decay=*/0, sgd->momentum_factor, sgd->lr, /*dampening=*/0,
                            /*nesterov=*/false, /*maximize=*/false, gr.first);
        } else if (!with_momentum) {
            at::_foreach_add_(gr.p, gr.g, -sgd->lr);
        } else {
            if (gr.first) {
                at::_foreach_copy_(gr.m, gr.g);
            } else {
                at::_foreach_mul_(gr.m, sgd->momentum_factor);
                at::_foreach_add_(gr.m, gr.g);
            }
            at::_foreach_add_(gr.p, gr.m, -sgd->lr);
        }
    }
    for (auto &f : fresh)
        sgd->momentum[f.first] = std::move(f.second);
}

}  // namespace ltc

extern "C" {

ltc_status ltc_linear_new(ltc_linear **out, int64_t in_features, int64_t out_features, int has_bias) {
    LTC_CHECK_OUT(out);
    if (in_features < 1 || out_features < 1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_linear_new: in_features %lld and out_features %lld must both be 1 or more",
                    (long long)in_features, (long long)out_features);
    if (has_bias != 0 && has_bias != 1)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_linear_new: has_bias %d is not valid: use 0 or 1", has_bias);
    LTC_TRY {
        *out = new ltc_linear{torch::nn::Linear(torch::nn::LinearOptions(in_features, out_features).bias(has_bias == 1))};
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_linear_free(ltc_linear *linear) {
    ltc::delete_quietly(linear);
}

ltc_status ltc_linear_to(ltc_linear *linear, ltc_device device) {
    LTC_CHECK_NOT_NULL(linear);
    LTC_TRY {
        c10::Device dev(c10::kCPU);
        LTC_RETURN_IF_ERROR(ltc::to_c10_device(device, &dev));
        linear->m->to(dev);
        // Module::to moves the parameters in place but leaves their gradients where they were
        for (auto &p : linear->m->parameters())
            if (p.grad().defined() && p.grad().device() != dev)
                p.mutable_grad() = p.grad().to(dev);
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_linear_forward(ltc_tensor **out, ltc_linear *linear, const ltc_tensor *x) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(linear);
    LTC_CHECK_NOT_NULL(x);
    LTC_TRY {
        const at::Tensor &w = linear->m->weight;
        const at::Tensor &in = x->t;
        int64_t want = w.size(1);
        if ((in.dim() != 1 && in.dim() != 2) || in.size(-1) != want)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_linear_forward: input shape %s does not fit Linear(%lld, %lld): use [batch, %lld] or [%lld]",
                        ltc::shape_text(in.sizes()).c_str(), (long long)want, (long long)w.size(0), (long long)want,
                        (long long)want);
        if (in.scalar_type() != w.scalar_type())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_linear_forward: input dtype %s does not match the module's %s",
                        c10::toString(in.scalar_type()), c10::toString(w.scalar_type()));
        if (in.device() != w.device())
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_linear_forward: input is on %s but the module is on %s: move one with ltc_tensor_to or ltc_linear_to",
                        in.device().str().c_str(), w.device().str().c_str());
        *out = ltc::wrap(linear->m->forward(in));
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_linear_parameters(ltc_tensor **out_weight, ltc_tensor **out_bias, const ltc_linear *linear) {
    if (out_weight)
        *out_weight = nullptr;
    if (out_bias)
        *out_bias = nullptr;
    LTC_CHECK_NOT_NULL(linear);
    LTC_TRY {
        ltc_tensor *w = out_weight ? ltc::wrap(linear->m->weight) : nullptr;
        if (out_bias && linear->m->bias.defined()) {
            try {
                *out_bias = ltc::wrap(linear->m->bias);
            } catch (...) {
                ltc_tensor_free(w);
                throw;
            }
        }
        if (out_weight)
            *out_weight = w;
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_linear_set_parameters(ltc_linear *linear, const float *weight, const float *bias) {
    LTC_CHECK_NOT_NULL(linear);
    LTC_CHECK_NOT_NULL(weight);
    LTC_TRY {
        auto &m = linear->m;
        if (bias && !m->bias.defined())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_linear_set_parameters: bias given but the module has no bias");
        torch::NoGradGuard no_grad;
        auto f32 = at::TensorOptions().dtype(at::kFloat);
        m->weight.copy_(at::from_blob(const_cast<float *>(weight), m->weight.sizes(), f32));
        if (bias)
            m->bias.copy_(at::from_blob(const_cast<float *>(bias), m->bias.sizes(), f32));
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_mse_loss(ltc_tensor **out, const ltc_tensor *input, const ltc_tensor *target) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(input);
    LTC_CHECK_NOT_NULL(target);
    LTC_TRY {
        const at::Tensor &a = input->t, &b = target->t;
        if (a.sizes() != b.sizes())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_mse_loss: input shape %s and target shape %s differ; they must be equal",
                        ltc::shape_text(a.sizes()).c_str(), ltc::shape_text(b.sizes()).c_str());
        if (a.scalar_type() != b.scalar_type() || !at::isFloatingType(a.scalar_type()))
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "ltc_mse_loss: input dtype %s and target dtype %s: both must be the same floating type",
                        c10::toString(a.scalar_type()), c10::toString(b.scalar_type()));
        if (a.device() != b.device())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_mse_loss: input is on %s, target on %s; they must be on one device",
                        a.device().str().c_str(), b.device().str().c_str());
        *out = ltc::wrap(at::mse_loss(a, b));
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_sgd_new(ltc_sgd **out, ltc_linear *linear, double lr, double momentum) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(linear);
    if (!(lr > 0) || !std::isfinite(lr))
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_sgd_new: learning rate %g is not valid: use a finite value > 0", lr);
    if (!(momentum >= 0 && momentum < 1))
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_sgd_new: momentum %g is not valid: use 0 <= momentum < 1", momentum);
    LTC_TRY {
        auto sgd = std::make_unique<ltc_sgd>();
        sgd->params = linear->m->parameters();
        sgd->momentum.resize(sgd->params.size());
        sgd->lr = lr;
        sgd->momentum_factor = momentum;
        *out = sgd.release();
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_sgd_free(ltc_sgd *sgd) {
    ltc::delete_quietly(sgd);
}

ltc_status ltc_sgd_zero_grad(ltc_sgd *sgd) {
    LTC_CHECK_NOT_NULL(sgd);
    LTC_TRY {
        ltc::sgd_zero_grad(sgd);
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_sgd_step(ltc_sgd *sgd) {
    LTC_CHECK_NOT_NULL(sgd);
    LTC_TRY {
        std::string bad = ltc::sgd_check(sgd);
        if (!bad.empty())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_sgd_step: %s", bad.c_str());
        ltc::sgd_step(sgd);
        return LTC_OK;
    }
    LTC_CATCH
}

}  // extern "C"

// nn and optim over one nn.Linear: ltc_linear, MSE loss, ltc_sgd (its update is optim.cpp's SGD).
#include "internal.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

using ltc::fail;

namespace ltc {

namespace {
const std::vector<std::string> kLinearNames = {"weight", "bias"};
}

void sgd_zero_grad(ltc_sgd *sgd) {
    drop_grads(sgd->params);
}

std::string sgd_check(const ltc_sgd *sgd) {
    return grads_check(sgd->params, kLinearNames, "ltc_sgd_zero_grad");
}

void sgd_step(ltc_sgd *sgd) {
    SgdSettings s;
    s.lr = sgd->lr;
    s.momentum = sgd->momentum_factor;
    sgd_update(sgd->params, sgd->momentum, s);
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
        ltc::move_module(*linear->m, dev);
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

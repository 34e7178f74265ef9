// Losses: MSE, as torch.nn.functional.mse_loss, and cross-entropy, as torch.nn.functional.cross_entropy.
#include "internal.hpp"

using ltc::fail;

namespace {

// logits [N, C] floating, target [N] int64, on one device; on the CPU every class index in 0 .. C-1 (a
// GPU leaves that to LibTorch's device-side assert: reading the indices back would sync with the host).
ltc_status check_cross_entropy(const at::Tensor &logits, const at::Tensor &target) {
    const char *fn = "ltc_cross_entropy_loss";
    if (logits.dim() != 2 || !at::isFloatingType(logits.scalar_type()))
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: logits are %s: use a floating [N, C] tensor (N samples, C classes)",
                    fn, ltc::tensor_text(logits).c_str());
    if (target.dim() != 1 || target.size(0) != logits.size(0) || target.scalar_type() != at::kLong)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: target is %s: use an int64 [%lld] tensor of class indices", fn,
                    ltc::tensor_text(target).c_str(), (long long)logits.size(0));
    if (target.device() != logits.device())
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: logits are on %s, target on %s: they must be on one device", fn,
                    logits.device().str().c_str(), target.device().str().c_str());
    if (!target.is_cpu())
        return LTC_OK;
    const int64_t classes = logits.size(1);
    const at::Tensor t = target.contiguous();
    const int64_t *idx = t.data_ptr<int64_t>();
    for (int64_t i = 0; i < t.numel(); i++)
        if (idx[i] < 0 || idx[i] >= classes)
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: target[%lld] = %lld is not a class index: use 0 to %lld (C = %lld)",
                        fn, (long long)i, (long long)idx[i], (long long)classes - 1, (long long)classes);
    return LTC_OK;
}

}  // namespace

extern "C" {

ltc_status ltc_cross_entropy_loss(ltc_tensor **out, const ltc_tensor *logits, const ltc_tensor *target) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(logits);
    LTC_CHECK_NOT_NULL(target);
    LTC_TRY {
        LTC_RETURN_IF_ERROR(check_cross_entropy(logits->t, target->t));
        *out = ltc::wrap(at::cross_entropy_loss(logits->t, target->t));
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

}  // extern "C"

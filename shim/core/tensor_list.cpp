// Tensor lists: named tensors (ltc_tensor_list_*), as a module's parameters, an optimizer's state or a
// state_dict hold them.
#include "internal.hpp"

#include <algorithm>
#include <memory>

using ltc::fail;

namespace ltc {

ltc_tensor_list *new_list(std::vector<std::string> names, std::vector<at::Tensor> tensors) {
    return new ltc_tensor_list{std::move(names), std::move(tensors)};
}

}  // namespace ltc

namespace {

// "weight, bias, 0.weight, ..." (the first few names), for a message about a name the list lacks.
std::string some_names(const ltc_tensor_list *l) {
    std::string s;
    const size_t shown = std::min<size_t>(l->names.size(), 8);
    for (size_t i = 0; i < shown; i++)
        s += (i ? ", " : "") + l->names[i];
    if (l->names.size() > shown)
        s += ltc::fmt(", ... (%zu in all)", l->names.size());
    return s.empty() ? "none: the list is empty" : s;
}

}  // namespace

extern "C" {

ltc_status ltc_tensor_list_new(ltc_tensor_list **out) {
    LTC_CHECK_OUT(out);
    LTC_TRY {
        *out = new ltc_tensor_list{};
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_tensor_list_free(ltc_tensor_list *list) {
    ltc::delete_quietly(list);
}

ltc_status ltc_tensor_list_append(ltc_tensor_list *list, const char *name, const ltc_tensor *tensor) {
    LTC_CHECK_NOT_NULL(list);
    LTC_CHECK_NOT_NULL(name);
    LTC_CHECK_NOT_NULL(tensor);
    const size_t n = strnlen(name, LTC_NAME_MAX + 1);
    if (n == 0)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_list_append: the name is empty: give each entry a name");
    if (n > LTC_NAME_MAX)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_list_append: the name \"%.40s...\" is longer than %d bytes",
                    name, LTC_NAME_MAX);
    LTC_TRY {
        if (std::find(list->names.begin(), list->names.end(), name) != list->names.end())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_list_append: the name \"%s\" is in the list already: names are unique",
                        name);
        list->names.emplace_back(name);
        try {
            list->tensors.push_back(tensor->t);
        } catch (...) {
            list->names.pop_back();
            throw;
        }
        return LTC_OK;
    }
    LTC_CATCH
}

int64_t ltc_tensor_list_count(const ltc_tensor_list *list) {
    if (!list) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_list_count: argument 'list' is NULL");
        return -1;
    }
    return (int64_t)list->names.size();
}

ltc_status ltc_tensor_list_get(ltc_tensor **out, const char **out_name, const ltc_tensor_list *list, int64_t index) {
    if (out)
        *out = nullptr;
    if (out_name)
        *out_name = nullptr;
    LTC_CHECK_NOT_NULL(list);
    if (!out && !out_name)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_list_get: 'out' and 'out_name' are both NULL: ask for one at least");
    const int64_t count = (int64_t)list->names.size();
    if (index < 0 || index >= count)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_list_get: index %lld is out of range: the list has %lld entr%s%s",
                    (long long)index, (long long)count, count == 1 ? "y" : "ies",
                    count ? ltc::fmt(" (valid: 0 to %lld)", (long long)count - 1).c_str() : "");
    LTC_TRY {
        if (out)
            *out = ltc::wrap(list->tensors[(size_t)index]);
        if (out_name)
            *out_name = list->names[(size_t)index].c_str();
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_tensor_list_find(ltc_tensor **out, const ltc_tensor_list *list, const char *name) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(list);
    LTC_CHECK_NOT_NULL(name);
    LTC_TRY {
        auto it = std::find(list->names.begin(), list->names.end(), name);
        if (it == list->names.end())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_tensor_list_find: no entry is named \"%s\"; the list holds %s", name,
                        some_names(list).c_str());
        *out = ltc::wrap(list->tensors[(size_t)(it - list->names.begin())]);
        return LTC_OK;
    }
    LTC_CATCH
}

}  // extern "C"

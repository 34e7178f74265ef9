// Checkpoints of any state (ltc_checkpoint_*): named tensors, an optimizer's state in PyTorch's
// optimizer.state_dict() layout, a step and named settings, in torch.save's format, so that Python's
// torch.load(weights_only=True) reads them and Python can write them; a plain state_dict reads too.
#include "checkpoint_io.hpp"

#include <ATen/core/Dict.h>

#include <algorithm>
#include <cinttypes>
#include <iterator>
#include <map>

using ltc::fail;
using ltc::Optimizer;
using ltc::OptimKind;
using c10::IValue;
using c10::impl::GenericDict;

struct ltc_checkpoint {
    std::vector<std::string> names;  // "model"
    std::vector<at::Tensor> tensors;
    std::shared_ptr<Optimizer> optimizer;  // set: its state is read at the save
    IValue optimizer_state;                // else, as loaded: optimizer.state_dict()'s layout (None: none)
    int64_t step = 0;
    std::map<std::string, std::string> settings;
};

namespace {

constexpr const char *kFormat = "ltc.checkpoint.2";

// zlib's CRC-32 (Python's zlib.crc32), the digest's algorithm (documented at ltc_checkpoint_save).
struct Crc32 {
    uint32_t c = 0xffffffffu;
    void add(const void *data, size_t n) {
        static const std::vector<uint32_t> table = [] {
            std::vector<uint32_t> t(256);
            for (uint32_t i = 0; i < 256; i++) {
                uint32_t v = i;
                for (int k = 0; k < 8; k++)
                    v = v & 1 ? 0xedb88320u ^ (v >> 1) : v >> 1;
                t[i] = v;
            }
            return t;
        }();
        const unsigned char *p = static_cast<const unsigned char *>(data);
        for (size_t i = 0; i < n; i++)
            c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    }
    void add_text(const std::string &s) { add(s.c_str(), s.size() + 1); }  // with its NUL
    void add_tensor(const at::Tensor &t) {
        at::Tensor h = t.contiguous();
        add(h.data_ptr(), h.nbytes());
    }
    std::string text() const { return ltc::fmt("crc32:%08" PRIx32, c ^ 0xffffffffu); }
};

// Each tensor of an optimizer.state_dict() value ("state": {i: {name: tensor}}), parameter indices
// ascending, each one's entries in the dict's order: visit("state.<i>.<name>", tensor). Entries that are
// not tensors are skipped.
template <class Visit>
void each_state_tensor(const IValue &opt, Visit visit) {
    if (!opt.isGenericDict())
        return;
    auto sd = opt.toGenericDict();
    auto st = sd.find("state");
    if (st == sd.end() || !st->value().isGenericDict())
        return;
    std::vector<std::pair<int64_t, GenericDict>> per;
    for (const auto &e : st->value().toGenericDict())
        if (e.key().isInt() && e.value().isGenericDict())
            per.emplace_back(e.key().toInt(), e.value().toGenericDict());
    std::sort(per.begin(), per.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    for (const auto &p : per)
        for (const auto &e : p.second)
            if (e.key().isString() && e.value().isTensor())
                visit("state." + std::to_string(p.first) + "." + e.key().toStringRef(), e.value().toTensor());
}

std::string digest_of(const ltc_checkpoint &c, const IValue &opt) {
    Crc32 d;
    for (size_t i = 0; i < c.names.size(); i++) {
        d.add_text(c.names[i]);
        d.add_tensor(c.tensors[i]);
    }
    each_state_tensor(opt, [&](const std::string &name, const at::Tensor &t) {
        d.add_text(name);
        d.add_tensor(t);
    });
    d.add_text("step=" + std::to_string(c.step));
    for (const auto &kv : c.settings)
        d.add_text(kv.first + "=" + kv.second);
    return d.text();
}

// A host copy of t; for a save to path (not NULL), refused (naming it) when it holds NaN or infinity.
ltc_status host_copy(at::Tensor *out, const at::Tensor &t, const std::string &name, const char *path) {
    *out = t.detach().to(c10::kCPU, /*non_blocking=*/false, /*copy=*/true).contiguous();
    if (path && at::isFloatingType(out->scalar_type()) && !at::isfinite(*out).all().item<bool>())
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "ltc_checkpoint_save: %s holds NaN or infinite values (the training diverged): %s not written, a "
                    "previous checkpoint there is left as it was",
                    name.c_str(), path);
    return LTC_OK;
}

// The optimizer's state and settings as PyTorch's optimizer.state_dict() lays them out, on the host
// (path: as host_copy).
ltc_status optimizer_value(IValue *out, const Optimizer &o, const char *path) {
    GenericDict state(c10::IntType::get(), c10::AnyType::get());
    for (size_t i = 0; i < o.params.size(); i++) {
        GenericDict entry(c10::StringType::get(), c10::AnyType::get());
        for (size_t k = 0; k < o.state_names.size(); k++) {
            if (!o.state[k][i].defined())
                continue;
            at::Tensor h;
            LTC_RETURN_IF_ERROR(
                host_copy(&h, o.state[k][i], "state." + std::to_string(i) + "." + o.state_names[k], path));
            entry.insert(o.state_names[k], h);
        }
        if (entry.size())
            state.insert((int64_t)i, entry);
    }
    GenericDict group(c10::StringType::get(), c10::AnyType::get());
    for (const auto &kv : ltc::optim_group(o))
        group.insert(kv.first, kv.second);
    c10::impl::GenericList indices(c10::AnyType::get());
    for (size_t i = 0; i < o.params.size(); i++)
        indices.push_back((int64_t)i);
    group.insert("params", indices);
    c10::impl::GenericList groups(c10::AnyType::get());
    groups.push_back(group);
    GenericDict sd(c10::StringType::get(), c10::AnyType::get());
    sd.insert("state", state);
    sd.insert("param_groups", groups);
    *out = sd;
    return LTC_OK;
}

// The file's dict: format, step, model, optimizer, settings, digest.
ltc_status checkpoint_value(IValue *out, const ltc_checkpoint &c, const char *path) {
    ltc_checkpoint host;  // what the file holds: host copies
    host.names = c.names;
    host.step = c.step;
    host.settings = c.settings;
    GenericDict model(c10::StringType::get(), c10::AnyType::get());
    for (size_t i = 0; i < c.names.size(); i++) {
        at::Tensor h;
        LTC_RETURN_IF_ERROR(host_copy(&h, c.tensors[i], "entry \"" + c.names[i] + "\"", path));
        host.tensors.push_back(h);
        model.insert(c.names[i], h);
    }
    IValue opt = c.optimizer_state;
    if (c.optimizer)
        LTC_RETURN_IF_ERROR(optimizer_value(&opt, *c.optimizer, path));
    GenericDict settings(c10::StringType::get(), c10::AnyType::get());
    for (const auto &kv : c.settings)
        settings.insert(kv.first, kv.second);
    GenericDict dict(c10::StringType::get(), c10::AnyType::get());
    dict.insert("format", std::string(kFormat));
    dict.insert("step", c.step);
    dict.insert("model", model);
    dict.insert("optimizer", opt);
    dict.insert("settings", settings);
    dict.insert("digest", digest_of(host, opt));
    *out = dict;
    return LTC_OK;
}

// A loaded file's dict entry (None when absent).
IValue entry_of(const GenericDict &d, const char *key) {
    auto it = d.find(key);
    return it == d.end() ? IValue() : it->value();
}

// A dict of name -> tensor (a state_dict, or "model") into c's tensors; "" or why it is not one.
std::string read_tensors(ltc_checkpoint *c, const GenericDict &d) {
    for (const auto &e : d) {
        if (!e.key().isString())
            return "a key is a " + e.key().tagKind() + ", not a name";
        const std::string &name = e.key().toStringRef();
        if (name.empty() || name.size() > LTC_NAME_MAX)
            return ltc::fmt("a name of %zu bytes (use 1 to %d)", name.size(), LTC_NAME_MAX);
        if (!e.value().isTensor())
            return "entry \"" + name + "\" is a " + e.value().tagKind() + ", not a tensor";
        c->names.push_back(name);
        c->tensors.push_back(e.value().toTensor());
    }
    return "";
}

// The fields of an ltc checkpoint beside "model"; "" or what is wrong.
std::string read_fields(ltc_checkpoint *c, const GenericDict &d) {
    IValue step = entry_of(d, "step"), settings = entry_of(d, "settings"), opt = entry_of(d, "optimizer");
    if (!step.isInt() || step.toInt() < 0)
        return "its step is missing, or not a whole number >= 0";
    c->step = step.toInt();
    if (!settings.isNone() && !settings.isGenericDict())
        return "its settings are a " + settings.tagKind() + ", not a dict";
    if (settings.isGenericDict())
        for (const auto &e : settings.toGenericDict()) {
            if (!e.key().isString() || !e.value().isString())
                return "a setting is not text (a str key and a str value)";
            c->settings[e.key().toStringRef()] = e.value().toStringRef();
        }
    if (!opt.isNone() && !(opt.isGenericDict() && entry_of(opt.toGenericDict(), "state").isGenericDict() &&
                           entry_of(opt.toGenericDict(), "param_groups").isList()))
        return "its optimizer is not an optimizer.state_dict() (a dict with \"state\" and \"param_groups\")";
    c->optimizer_state = opt;
    return "";
}

// The file's value as a checkpoint: an ltc checkpoint ("format"), or a plain state_dict.
ltc_status from_value(ltc_checkpoint *c, const IValue &v, const std::string &path) {
    const char *p = path.c_str();
    if (!v.isGenericDict())
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "checkpoint %s holds a %s, not an ltc checkpoint (a dict with format \"%s\") nor a state_dict (a dict "
                    "of tensors)",
                    p, v.tagKind().c_str(), kFormat);
    GenericDict d = v.toGenericDict();
    IValue format = entry_of(d, "format");
    if (format.isNone()) {
        std::string bad = read_tensors(c, d);
        if (!bad.empty())
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "checkpoint %s is neither an ltc checkpoint (it has no \"format\") nor a state_dict: %s", p,
                        bad.c_str());
        return LTC_OK;
    }
    if (!format.isString() || format.toStringRef() != kFormat)
        return fail(LTC_ERR_INVALID_ARGUMENT, "checkpoint %s is not one ltc_checkpoint_load reads: its format is %s, expected \"%s\"%s",
                    p, format.isString() ? ("\"" + format.toStringRef() + "\"").c_str() : "not text", kFormat,
                    format.isString() && format.toStringRef() == "ltc.checkpoint.1" ? " (ltc_checkpoint_load_linear reads it)" : "");
    // Only the documented entries: a changed byte in one's name (say "digest") must not pass for a file
    // written without it.
    static const char *const known[] = {"format", "step", "model", "optimizer", "settings", "digest"};
    for (const auto &e : d) {
        const bool ok = e.key().isString() && std::any_of(std::begin(known), std::end(known), [&](const char *k) {
                            return e.key().toStringRef() == k;
                        });
        if (!ok)
            return fail(LTC_ERR_INVALID_ARGUMENT,
                        "checkpoint %s is corrupt: it has an entry %s, and an ltc checkpoint holds only format, step, "
                        "model, optimizer, settings and digest",
                        p, e.key().isString() ? ("\"" + e.key().toStringRef() + "\"").c_str() : "whose key is not text");
    }
    IValue model = entry_of(d, "model");
    std::string bad = model.isGenericDict() ? read_tensors(c, model.toGenericDict()) : "its model is not a dict of tensors";
    if (bad.empty())
        bad = read_fields(c, d);
    if (!bad.empty())
        return fail(LTC_ERR_INVALID_ARGUMENT, "checkpoint %s is corrupt: %s", p, bad.c_str());
    IValue digest = entry_of(d, "digest");
    if (!digest.isNone() && (!digest.isString() || digest.toStringRef() != digest_of(*c, c->optimizer_state)))
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "checkpoint %s is corrupt: its contents do not match the digest written with them (a changed byte)", p);
    return LTC_OK;
}

// Parameters and checkpoint tensors pair up by name, both ways, with one shape and dtype each.
ltc_status check_tensors(const ltc_checkpoint &c, const ltc_tensor_list &params, std::vector<at::Tensor> *from) {
    const char *fn = "ltc_checkpoint_restore";
    for (size_t i = 0; i < params.names.size(); i++) {
        auto it = std::find(c.names.begin(), c.names.end(), params.names[i]);
        if (it == c.names.end())
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the checkpoint has no entry \"%s\" (a name missing): it holds %zu "
                        "entr%s, params %zu", fn, params.names[i].c_str(), c.names.size(), c.names.size() == 1 ? "y" : "ies",
                        params.names.size());
        const at::Tensor &t = c.tensors[(size_t)(it - c.names.begin())], &p = params.tensors[i];
        if (!t.sizes().equals(p.sizes()) || t.scalar_type() != p.scalar_type())
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: entry \"%s\" is %s in the checkpoint but %s in params", fn,
                        params.names[i].c_str(), (ltc::dtype_text(t.scalar_type()) + " " + ltc::shape_text(t.sizes())).c_str(),
                        (ltc::dtype_text(p.scalar_type()) + " " + ltc::shape_text(p.sizes())).c_str());
        from->push_back(t);
    }
    for (const auto &name : c.names)
        if (std::find(params.names.begin(), params.names.end(), name) == params.names.end())
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the checkpoint's entry \"%s\" is not in params (a name extra)", fn,
                        name.c_str());
    return LTC_OK;
}

// "0.1", "True", "(0.9, 0.999)": a setting's value in a message.
std::string value_text(const IValue &v) {
    if (v.isBool())
        return v.toBool() ? "True" : "False";
    if (v.isInt())
        return std::to_string(v.toInt());
    if (v.isDouble())
        return ltc::ckpt::number_text(v.toDouble());
    if (v.isString())
        return "\"" + v.toStringRef() + "\"";
    if (v.isTuple() || v.isList()) {
        std::vector<IValue> items = v.isTuple() ? v.toTupleRef().elements().vec() : v.toListRef().vec();
        std::string s;
        for (const auto &e : items)
            s += (s.empty() ? "" : ", ") + value_text(e);
        return "(" + s + ")";
    }
    return v.isNone() ? "None" : v.tagKind();
}

// Settings equal as numbers (Python writes SGD's weight_decay 0 as an int), or element by element.
bool same_value(const IValue &a, const IValue &b) {
    auto number = [](const IValue &v) { return v.isBool() || v.isInt() || v.isDouble(); };
    auto as_double = [](const IValue &v) { return v.isBool() ? (double)v.toBool() : v.isInt() ? (double)v.toInt() : v.toDouble(); };
    if (number(a) && number(b))
        return as_double(a) == as_double(b);
    if ((a.isTuple() || a.isList()) && (b.isTuple() || b.isList())) {
        std::vector<IValue> x = a.isTuple() ? a.toTupleRef().elements().vec() : a.toListRef().vec();
        std::vector<IValue> y = b.isTuple() ? b.toTupleRef().elements().vec() : b.toListRef().vec();
        if (x.size() != y.size())
            return false;
        for (size_t i = 0; i < x.size(); i++)
            if (!same_value(x[i], y[i]))
                return false;
        return true;
    }
    return a.isNone() && b.isNone();
}

// torch.optim's class that wrote a param group: "SGD", "Adam", "AdamW", or "" when none of them.
std::string group_kind(const GenericDict &g) {
    if (g.contains("momentum"))
        return "SGD";
    if (!g.contains("betas"))
        return "";
    IValue d = entry_of(g, "decoupled_weight_decay");
    return d.isBool() && d.toBool() ? "AdamW" : "Adam";
}

// The checkpoint's one param group against the optimizer: its kind, settings and number of parameters.
ltc_status check_group(const IValue &groups, const Optimizer &o) {
    const char *fn = "ltc_checkpoint_restore";
    const auto &list = groups.toListRef();
    if (list.size() != 1 || !list[0].isGenericDict())
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the checkpoint's optimizer has %zu param groups: ltc's optimizers have one",
                    fn, list.size());
    GenericDict g = list[0].toGenericDict();
    const std::string kind = group_kind(g), mine = ltc::optim_kind_name(o.kind);
    if (kind != mine)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the checkpoint's optimizer is %s, this one is %s: make a %s with its settings",
                    fn, kind.empty() ? "of a kind ltc does not make" : kind.c_str(), mine.c_str(), kind.empty() ? mine.c_str() : kind.c_str());
    static const char *const kNotSettings[] = {"foreach", "differentiable", "fused", "capturable", "decoupled_weight_decay"};
    for (const auto &kv : ltc::optim_group(o)) {
        if (std::count(std::begin(kNotSettings), std::end(kNotSettings), kv.first))
            continue;
        IValue theirs = entry_of(g, kv.first.c_str());
        if (!same_value(theirs, kv.second))
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the checkpoint's optimizer has %s=%s, this one %s=%s", fn,
                        kv.first.c_str(), g.contains(kv.first) ? value_text(theirs).c_str() : "(absent)", kv.first.c_str(),
                        value_text(kv.second).c_str());
    }
    IValue params = entry_of(g, "params");
    size_t n = params.isList() ? params.toListRef().size() : 0;
    if (n != o.params.size())
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the checkpoint's optimizer has %zu parameters, this one %zu", fn, n,
                    o.params.size());
    return LTC_OK;
}

// One state tensor of parameter i, as the optimizer keeps it: a copy on the parameter's device ("step" a
// float32 scalar, as fused Adam keeps it; an older PyTorch's number is taken too).
ltc_status state_tensor(at::Tensor *out, const IValue &v, const std::string &name, const at::Tensor &p, size_t i) {
    const char *fn = "ltc_checkpoint_restore";
    const bool is_step = name == "step";
    if (is_step && (v.isInt() || v.isDouble()))
        *out = at::scalar_tensor(v.toScalar(), at::kFloat);
    else if (v.isTensor())
        *out = v.toTensor();
    else
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the checkpoint's state.%zu.%s is a %s, not a tensor", fn, i, name.c_str(),
                    v.tagKind().c_str());
    if (is_step ? out->numel() != 1 : !out->sizes().equals(p.sizes()))
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the checkpoint's state.%zu.%s has shape %s, parameter %zu has %s", fn, i,
                    name.c_str(), ltc::shape_text(out->sizes()).c_str(), i, ltc::shape_text(p.sizes()).c_str());
    *out = out->to(p.device(), is_step ? at::kFloat : p.scalar_type(), /*non_blocking=*/false, /*copy=*/true)
               .reshape(is_step ? at::IntArrayRef{} : p.sizes());
    return LTC_OK;
}

// The optimizer's state as the checkpoint holds it: (*out)[k][i] for o.state_names[k].
ltc_status read_state(std::vector<std::vector<at::Tensor>> *out, const GenericDict &state, const Optimizer &o) {
    const char *fn = "ltc_checkpoint_restore";
    out->assign(o.state_names.size(), std::vector<at::Tensor>(o.params.size()));
    for (const auto &e : state) {
        if (!e.key().isInt() || e.key().toInt() < 0 || (size_t)e.key().toInt() >= o.params.size() ||
            !e.value().isGenericDict())
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the checkpoint's optimizer state has an entry %s: use parameter "
                        "indices 0 to %zu, each with a dict", fn, value_text(e.key()).c_str(), o.params.size() - 1);
        const size_t i = (size_t)e.key().toInt();
        for (const auto &s : e.value().toGenericDict()) {
            const std::string name = s.key().isString() ? s.key().toStringRef() : value_text(s.key());
            auto k = std::find(o.state_names.begin(), o.state_names.end(), name);
            if (k == o.state_names.end())
                return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the checkpoint's state.%zu has \"%s\", which %s does not keep", fn,
                            i, name.c_str(), ltc::optim_kind_name(o.kind));
            LTC_RETURN_IF_ERROR(state_tensor(&(*out)[(size_t)(k - o.state_names.begin())][i], s.value(), name, o.params[i], i));
        }
    }
    return LTC_OK;
}

// The checkpoint's optimizer state for o, checked: kind, settings, parameters, state shapes.
ltc_status optimizer_state_for(std::vector<std::vector<at::Tensor>> *out, const ltc_checkpoint &c, const Optimizer &o) {
    IValue opt = c.optimizer_state;
    if (c.optimizer)
        LTC_RETURN_IF_ERROR(optimizer_value(&opt, *c.optimizer, nullptr));
    if (opt.isNone())
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "ltc_checkpoint_restore: the checkpoint holds no optimizer state: pass NULL for optimizer, or save one "
                    "with ltc_checkpoint_set_optimizer");
    GenericDict sd = opt.toGenericDict();
    LTC_RETURN_IF_ERROR(check_group(entry_of(sd, "param_groups"), o));
    return read_state(out, entry_of(sd, "state").toGenericDict(), o);
}

// Text without control characters, 1 to max bytes.
ltc_status check_text(const char *fn, const char *what, const char *s, size_t max) {
    size_t n = strnlen(s, max + 1);
    if (n == 0)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the %s is empty: give it some text", fn, what);
    if (n > max)
        return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the %s \"%.40s...\" is longer than %zu bytes", fn, what, s, max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return fail(LTC_ERR_INVALID_ARGUMENT, "%s: the %s \"%.60s\" holds a control character (byte %zu): use text", fn,
                        what, s, i);
    return LTC_OK;
}

}  // namespace

extern "C" {

ltc_status ltc_checkpoint_new(ltc_checkpoint **out) {
    LTC_CHECK_OUT(out);
    LTC_TRY {
        *out = new ltc_checkpoint{};
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_checkpoint_free(ltc_checkpoint *checkpoint) {
    ltc::delete_quietly(checkpoint);
}

ltc_status ltc_checkpoint_set_tensors(ltc_checkpoint *checkpoint, const ltc_tensor_list *tensors) {
    LTC_CHECK_NOT_NULL(checkpoint);
    LTC_CHECK_NOT_NULL(tensors);
    LTC_TRY {
        std::vector<std::string> names = tensors->names;
        std::vector<at::Tensor> ts = tensors->tensors;
        checkpoint->names.swap(names);
        checkpoint->tensors.swap(ts);
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_checkpoint_set_optimizer(ltc_checkpoint *checkpoint, const ltc_optimizer *optimizer) {
    LTC_CHECK_NOT_NULL(checkpoint);
    LTC_CHECK_NOT_NULL(optimizer);
    checkpoint->optimizer = optimizer->o;
    checkpoint->optimizer_state = IValue();
    return LTC_OK;
}

ltc_status ltc_checkpoint_set_step(ltc_checkpoint *checkpoint, int64_t step) {
    LTC_CHECK_NOT_NULL(checkpoint);
    if (step < 0)
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_checkpoint_set_step: step %" PRId64 " is not valid: use 0 or more", step);
    checkpoint->step = step;
    return LTC_OK;
}

ltc_status ltc_checkpoint_set_setting(ltc_checkpoint *checkpoint, const char *key, const char *value) {
    const char *fn = "ltc_checkpoint_set_setting";
    LTC_CHECK_NOT_NULL(checkpoint);
    LTC_CHECK_NOT_NULL(key);
    LTC_CHECK_NOT_NULL(value);
    LTC_RETURN_IF_ERROR(check_text(fn, "key", key, LTC_NAME_MAX));
    LTC_RETURN_IF_ERROR(check_text(fn, "value", value, SIZE_MAX - 1));
    LTC_TRY {
        checkpoint->settings[key] = value;
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_checkpoint_save(const ltc_checkpoint *checkpoint, const char *path) {
    LTC_CHECK_NOT_NULL(checkpoint);
    LTC_CHECK_NOT_NULL(path);
    if (!path[0])
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_checkpoint_save: path is empty: pass a file name");
    LTC_TRY {
        at::NoGradGuard no_grad;
        IValue value;
        LTC_RETURN_IF_ERROR(checkpoint_value(&value, *checkpoint, path));
        return ltc::ckpt::write_atomically("ltc_checkpoint_save", path, ltc::ckpt::encode(value));
    }
    LTC_CATCH
}

ltc_status ltc_checkpoint_load(ltc_checkpoint **out, const char *path) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(path);
    if (!path[0])
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_checkpoint_load: path is empty: pass a file name");
    LTC_TRY {
        std::vector<char> bytes;
        LTC_RETURN_IF_ERROR(ltc::ckpt::read_whole("ltc_checkpoint_load", &bytes, path));
        IValue value;
        LTC_RETURN_IF_ERROR(ltc::ckpt::decode(&value, path, bytes, kFormat));
        auto c = std::make_unique<ltc_checkpoint>();
        LTC_RETURN_IF_ERROR(from_value(c.get(), value, path));
        *out = c.release();
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_checkpoint_tensors(ltc_tensor_list **out, const ltc_checkpoint *checkpoint) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(checkpoint);
    LTC_TRY {
        *out = ltc::new_list(checkpoint->names, checkpoint->tensors);
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_checkpoint_step(int64_t *out, const ltc_checkpoint *checkpoint) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(checkpoint);
    *out = checkpoint->step;
    return LTC_OK;
}

ltc_status ltc_checkpoint_setting(const char **out, const ltc_checkpoint *checkpoint, const char *key) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(checkpoint);
    LTC_CHECK_NOT_NULL(key);
    LTC_TRY {
        auto it = checkpoint->settings.find(key);
        if (it == checkpoint->settings.end()) {
            std::string keys;
            for (const auto &kv : checkpoint->settings)
                keys += (keys.empty() ? "" : ", ") + kv.first;
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_checkpoint_setting: the checkpoint has no setting \"%s\"; it holds %s",
                        key, keys.empty() ? "none" : keys.c_str());
        }
        *out = it->second.c_str();
        return LTC_OK;
    }
    LTC_CATCH
}

ltc_status ltc_checkpoint_restore(const ltc_checkpoint *checkpoint, const ltc_tensor_list *params,
                                  ltc_optimizer *optimizer) {
    LTC_CHECK_NOT_NULL(checkpoint);
    LTC_CHECK_NOT_NULL(params);
    LTC_TRY {
        std::vector<at::Tensor> from;
        LTC_RETURN_IF_ERROR(check_tensors(*checkpoint, *params, &from));
        std::vector<std::vector<at::Tensor>> state;
        if (optimizer)
            LTC_RETURN_IF_ERROR(optimizer_state_for(&state, *checkpoint, *optimizer->o));
        // Everything checked: now change the parameters and the optimizer, all or nothing.
        at::NoGradGuard no_grad;
        for (size_t i = 0; i < from.size(); i++)
            params->tensors[i].detach().copy_(from[i]);
        if (optimizer)
            optimizer->o->state = std::move(state);
        return LTC_OK;
    }
    LTC_CATCH
}

}  // extern "C"

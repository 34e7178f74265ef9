// Reads the pickle of a torch.save archive (data.pkl) into an IValue: what torch.load(weights_only=True)
// accepts of it, the part a checkpoint holds (dicts, OrderedDicts, lists, tuples, numbers, text, None,
// tensors). LibTorch's own unpickler (torch::jit::pickle_load) reads the files LibTorch writes, but not
// Python's state_dicts: it takes an OrderedDict for None, and knows neither BUILD on a dict (a
// state_dict's _metadata) nor APPEND (a list of one item, as optimizer.state_dict()'s param_groups).
#include "checkpoint_io.hpp"

#include <c10/core/ScalarType.h>

#include <cstring>
#include <stdexcept>

namespace ltc::ckpt {

namespace {

// Globals are pushed as text marked by this prefix (a NUL byte no real text of a checkpoint starts with).
const std::string kGlobal = std::string("\0ltc.global:", 12);

[[noreturn]] void bad(const std::string &why) {
    throw std::runtime_error(why);
}

class Unpickler {
  public:
    Unpickler(const std::vector<char> &pickle, const RecordReader &record)
        : p_(pickle.data()), end_(pickle.data() + pickle.size()), record_(record) {}

    c10::IValue run() {
        while (true) {
            const unsigned char op = byte();
            if (op == '.')
                break;
            step(op);
        }
        if (stack_.size() != 1)
            bad("the pickle ends with " + std::to_string(stack_.size()) + " values, not 1");
        return stack_[0];
    }

  private:
    const char *p_, *end_;
    const RecordReader &record_;
    std::vector<c10::IValue> stack_, memo_;
    std::vector<size_t> marks_;
    std::map<std::string, at::Tensor> storages_;

    const char *take(size_t n) {
        if ((size_t)(end_ - p_) < n)
            bad("the pickle is cut short");
        const char *at = p_;
        p_ += n;
        return at;
    }
    unsigned char byte() { return (unsigned char)*take(1); }
    uint64_t le(size_t n) {  // an unsigned little-endian number of n bytes
        const unsigned char *b = reinterpret_cast<const unsigned char *>(take(n));
        uint64_t v = 0;
        for (size_t i = n; i-- > 0;)
            v = v << 8 | b[i];
        return v;
    }
    std::string text(size_t n) { return std::string(take(n), n); }
    std::string line() {
        const char *nl = static_cast<const char *>(memchr(p_, '\n', (size_t)(end_ - p_)));
        if (!nl)
            bad("the pickle is cut short");
        std::string s = text((size_t)(nl - p_));
        p_++;
        return s;
    }
    c10::IValue pop() {
        if (stack_.empty() || (!marks_.empty() && marks_.back() >= stack_.size()))
            bad("the pickle pops more than it pushed");
        c10::IValue v = std::move(stack_.back());
        stack_.pop_back();
        return v;
    }
    std::vector<c10::IValue> pop_mark() {
        if (marks_.empty())
            bad("the pickle closes a MARK it never opened");
        std::vector<c10::IValue> items(stack_.begin() + (ptrdiff_t)marks_.back(), stack_.end());
        stack_.resize(marks_.back());
        marks_.pop_back();
        return items;
    }
    c10::IValue &top() {
        if (stack_.empty())
            bad("the pickle reads an empty stack");
        return stack_.back();
    }
    void put(size_t slot) {
        if (slot > (1u << 24))
            bad("the pickle's memo slot " + std::to_string(slot) + " is out of range");
        if (memo_.size() <= slot)
            memo_.resize(slot + 1);
        memo_[slot] = top();
    }
    void get(size_t slot) {
        if (slot >= memo_.size())
            bad("the pickle reads memo slot " + std::to_string(slot) + ", never written");
        stack_.push_back(memo_[slot]);
    }
    static int64_t signed_le(uint64_t v, size_t n) {
        if (n < 8 && (v >> (8 * n - 1)) & 1)
            v |= ~0ull << (8 * n);  // sign-extend
        return (int64_t)v;
    }
    void append(std::vector<c10::IValue> items) {
        c10::IValue list = top();
        if (!list.isList())
            bad("the pickle appends to a " + list.tagKind() + ", not a list");
        for (auto &v : items)
            list.toList().push_back(std::move(v));
    }
    void setitems(std::vector<c10::IValue> items) {
        c10::IValue dict = top();
        if (!dict.isGenericDict() || items.size() % 2)
            bad("the pickle sets items of a " + dict.tagKind() + ", not a dict");
        for (size_t i = 0; i < items.size(); i += 2)
            dict.toGenericDict().insert_or_assign(items[i], items[i + 1]);
    }
    void step(unsigned char op);
    void global(const std::string &module, const std::string &name);
    c10::IValue call(const std::string &global, const c10::IValue &args);
    c10::IValue storage(const c10::IValue &pid);
    c10::IValue rebuild_tensor(const std::vector<c10::IValue> &args);
};

void Unpickler::step(unsigned char op) {
    switch (op) {
    case 0x80: take(1); break;  // PROTO
    case 0x95: take(8); break;  // FRAME
    case '(': marks_.push_back(stack_.size()); break;
    case ')': stack_.emplace_back(c10::ivalue::Tuple::create(std::vector<c10::IValue>())); break;
    case ']': stack_.emplace_back(c10::impl::GenericList(c10::AnyType::get())); break;
    case '}': stack_.emplace_back(c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get())); break;
    case 'N': stack_.emplace_back(); break;
    case 0x88: stack_.emplace_back(true); break;
    case 0x89: stack_.emplace_back(false); break;
    case 'K': stack_.emplace_back((int64_t)le(1)); break;
    case 'M': stack_.emplace_back((int64_t)le(2)); break;
    case 'J': stack_.emplace_back(signed_le(le(4), 4)); break;
    case 0x8a: {  // LONG1
        size_t n = byte();
        if (n > 8)
            bad("the pickle holds an integer of " + std::to_string(n) + " bytes: more than int64");
        stack_.emplace_back(n ? signed_le(le(n), n) : 0);
        break;
    }
    case 'G': {  // BINFLOAT, big-endian
        uint64_t bits = 0;
        for (unsigned char b : text(8))
            bits = bits << 8 | b;
        double d;
        memcpy(&d, &bits, sizeof d);
        stack_.emplace_back(d);
        break;
    }
    case 'X': stack_.emplace_back(text(le(4))); break;
    case 0x8c: stack_.emplace_back(text(le(1))); break;
    case 0x8d: stack_.emplace_back(text(le(8))); break;
    case 't': stack_.emplace_back(c10::ivalue::Tuple::create(pop_mark())); break;
    case 0x85: case 0x86: case 0x87: {  // TUPLE1, TUPLE2, TUPLE3
        std::vector<c10::IValue> items(op - 0x84);
        for (size_t i = items.size(); i-- > 0;)
            items[i] = pop();
        stack_.emplace_back(c10::ivalue::Tuple::create(std::move(items)));
        break;
    }
    case 'l': {
        c10::impl::GenericList list(c10::AnyType::get());
        for (auto &v : pop_mark())
            list.push_back(std::move(v));
        stack_.emplace_back(list);
        break;
    }
    case 'a': append({pop()}); break;
    case 'e': append(pop_mark()); break;
    case 'd': {
        std::vector<c10::IValue> items = pop_mark();
        stack_.emplace_back(c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get()));
        setitems(std::move(items));
        break;
    }
    case 's': {
        c10::IValue v = pop(), k = pop();
        setitems({k, v});
        break;
    }
    case 'u': setitems(pop_mark()); break;
    case 'q': put(le(1)); break;
    case 'r': put(le(4)); break;
    case 0x94: put(memo_.size()); break;  // MEMOIZE
    case 'h': get(le(1)); break;
    case 'j': get(le(4)); break;
    case '0': pop(); break;
    case '1': pop_mark(); break;
    case '2': stack_.push_back(top()); break;
    case 'c': {
        std::string module = line();
        global(module, line());
        break;
    }
    case 0x93: {  // STACK_GLOBAL
        c10::IValue name = pop(), module = pop();
        if (!name.isString() || !module.isString())
            bad("the pickle names a global with something other than text");
        global(module.toStringRef(), name.toStringRef());
        break;
    }
    case 'R': case 0x81: {  // REDUCE, NEWOBJ
        c10::IValue args = pop(), fn = pop();
        if (!fn.isString() || fn.toStringRef().rfind(kGlobal, 0) != 0)
            bad("the pickle calls a " + fn.tagKind() + ", not a global");
        stack_.push_back(call(fn.toStringRef().substr(kGlobal.size()), args));
        break;
    }
    case 'b': pop(); break;  // BUILD: an object's attributes (a state_dict's _metadata), not kept
    case 'Q': stack_.push_back(storage(pop())); break;
    default: {
        char hex[8];
        snprintf(hex, sizeof hex, "0x%02x", op);
        bad(std::string("the pickle has opcode ") + hex + ", which a checkpoint does not use");
    }
    }
}

void Unpickler::global(const std::string &module, const std::string &name) {
    const std::string full = module + "." + name;
    static const char *const known[] = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                        "torch._utils._rebuild_parameter"};
    bool ok = std::count(std::begin(known), std::end(known), full) > 0;
    if (module == "torch" && name.size() > 7 && name.compare(name.size() - 7, 7, "Storage") == 0)
        ok = true;  // a storage's type, e.g. torch.FloatStorage
    if (!ok)
        bad("the pickle uses " + full + ", which is not part of a checkpoint (dicts, lists, numbers, text, tensors)");
    stack_.emplace_back(kGlobal + full);
}

c10::IValue Unpickler::call(const std::string &global, const c10::IValue &args) {
    if (!args.isTuple())
        bad(global + " is called with a " + args.tagKind() + ", not a tuple");
    const auto &a = args.toTupleRef().elements();
    if (global == "collections.OrderedDict")
        return c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get());
    if (global == "torch._utils._rebuild_tensor_v2")
        return rebuild_tensor(a.vec());
    if (global == "torch._utils._rebuild_parameter" && !a.empty() && a[0].isTensor())
        return a[0];
    bad(global + " cannot be called with these arguments");
}

// ("storage", torch.<Type>Storage, key, location, numel): the zip's record data/<key> as a flat tensor.
c10::IValue Unpickler::storage(const c10::IValue &pid) {
    const std::vector<c10::IValue> t = pid.isTuple() ? pid.toTupleRef().elements().vec() : std::vector<c10::IValue>();
    const std::string prefix = kGlobal + "torch.";
    if (t.size() < 5 || !t[1].isString() || t[1].toStringRef().rfind(prefix, 0) != 0 || !t[2].isString() ||
        !t[4].isInt())
        bad("the pickle names a storage it does not describe");
    const std::string type = t[1].toStringRef().substr(prefix.size());
    const std::string &key = t[2].toStringRef();
    auto cached = storages_.find(key);
    if (cached != storages_.end())
        return cached->second;
    std::optional<at::ScalarType> st;
#define LTC_STORAGE_TYPE(_, name) \
    if (type == #name "Storage")  \
        st = at::k##name;
    AT_FORALL_SCALAR_TYPES_WITH_COMPLEX(LTC_STORAGE_TYPE)
#undef LTC_STORAGE_TYPE
    if (!st)
        bad("the pickle's storage type torch." + type + " is not one ltc reads");
    const int64_t numel = t[4].toInt();
    auto rec = record_("data/" + key);
    const size_t nbytes = (size_t)numel * c10::elementSize(*st);
    if (numel < 0 || std::get<1>(rec) < nbytes)
        bad("storage " + key + " holds " + std::to_string(std::get<1>(rec)) + " bytes, not " + std::to_string(nbytes));
    at::Storage storage(c10::Storage::use_byte_size_t(), nbytes, std::move(std::get<0>(rec)), nullptr, false);
    at::Tensor flat = at::empty({0}, at::TensorOptions().dtype(*st)).set_(storage);
    storages_[key] = flat;
    return flat;
}

// _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]): a view of the
// storage, checked to lie inside it.
c10::IValue Unpickler::rebuild_tensor(const std::vector<c10::IValue> &a) {
    auto ints = [](const c10::IValue &v) {
        std::vector<int64_t> out;
        if (!v.isTuple())
            bad("a tensor's size or stride is a " + v.tagKind() + ", not a tuple");
        for (const auto &e : v.toTupleRef().elements()) {
            if (!e.isInt() || e.toInt() < 0)
                bad("a tensor's size or stride is not a whole number >= 0");
            out.push_back(e.toInt());
        }
        return out;
    };
    if (a.size() < 5 || !a[0].isTensor() || !a[1].isInt() || !a[4].isBool())
        bad("a tensor is described by other arguments than torch.save's");
    at::Tensor storage = a[0].toTensor();
    std::vector<int64_t> size = ints(a[2]), stride = ints(a[3]);
    int64_t offset = a[1].toInt(), last = offset;
    if (size.size() != stride.size() || offset < 0)
        bad("a tensor's size and stride do not fit");
    bool empty = false;
    for (size_t i = 0; i < size.size(); i++) {
        empty = empty || size[i] == 0;
        last += size[i] ? (size[i] - 1) * stride[i] : 0;
    }
    if (!empty && last >= storage.numel())
        bad("a tensor reaches past its storage");
    at::Tensor t = at::empty({0}, storage.options()).set_(storage.storage(), offset, size, stride);
    if (a[4].toBool() && at::isFloatingType(t.scalar_type()))
        t.set_requires_grad(true);
    return t;
}

}  // namespace

c10::IValue unpickle(const std::vector<char> &pickle, const RecordReader &record) {
    return Unpickler(pickle, record).run();
}

}  // namespace ltc::ckpt

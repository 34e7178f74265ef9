// The diagnosis's JSON writer (shim/diagnose/diagnose_json.cpp, compiled here on its own): whatever tree of
// values it is given, with any bytes in its strings and any
// double in its numbers, its output must be one valid JSON document (RFC 8259, strict UTF-8), every
// string that was valid UTF-8 must read back unchanged, and flattening it for ltc_diagnosis_get must not
// fail.
#include "diagnose_json.hpp"

extern "C" {
#include "json_check.h"
}

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using ltc_json::J;

namespace {

bool valid_utf8(const std::string &s) {
    std::string quoted = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\' || c < 0x20)
            quoted += ' ';  // only the UTF-8 question matters here
        else
            quoted += (char)c;
    }
    quoted += '"';
    return json_check(quoted.data(), quoted.size(), nullptr, nullptr) < 0;
}

// The strings of the tree, keys included, in the order json_write prints them.
J build(FuzzedDataProvider &p, int depth, std::vector<std::string> &strings) {
    switch (p.ConsumeIntegralInRange<int>(0, depth >= 6 ? 3 : 5)) {
    case 0: return J::null();
    case 1: return J::boolean(p.ConsumeBool());
    case 2: {
        double v;
        if (p.ConsumeBool()) {
            uint64_t bits = p.ConsumeIntegral<uint64_t>();  // any double: NaN, infinities, subnormals
            memcpy(&v, &bits, sizeof v);
        } else {
            v = (double)p.ConsumeIntegral<int64_t>() / (double)p.ConsumeIntegralInRange<int>(1, 1000);
        }
        return J::num(v);
    }
    case 3: {
        std::string s = p.ConsumeRandomLengthString(64);
        strings.push_back(s);
        return J::str(s);
    }
    default: {
        bool obj = p.ConsumeBool();
        J j = obj ? J::obj() : J::arr();
        int n = p.ConsumeIntegralInRange<int>(0, 6);
        for (int i = 0; i < n && p.remaining_bytes() > 0; i++) {
            if (obj) {
                std::string key = p.ConsumeRandomLengthString(16);
                strings.push_back(key);
                j.set(key, build(p, depth + 1, strings));
            } else {
                j.push(build(p, depth + 1, strings));
            }
        }
        return j;
    }
    }
}

void collect(void *ctx, const char *s, size_t n) { static_cast<std::vector<std::string> *>(ctx)->emplace_back(s, n); }

[[noreturn]] void fail(const std::string &what, const std::string &json) {
    fprintf(stderr, "fuzz_json: %s\n--- output (%zu bytes) ---\n%s\n---\n", what.c_str(), json.size(), json.c_str());
    abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    FuzzedDataProvider p(data, size);
    std::vector<std::string> strings;
    J root = build(p, 0, strings);
    std::string out;
    ltc_json::json_write(out, root, 0);

    std::vector<std::string> read_back;
    long at = json_check(out.data(), out.size(), collect, &read_back);
    if (at >= 0)
        fail("the writer's output is not valid JSON at byte " + std::to_string(at), out);
    if (read_back.size() != strings.size())
        fail("the output has " + std::to_string(read_back.size()) + " strings, the tree " + std::to_string(strings.size()),
             out);
    for (size_t i = 0; i < strings.size(); i++)
        if (valid_utf8(strings[i]) && read_back[i] != strings[i])
            fail("string " + std::to_string(i) + " does not read back as written", out);

    std::map<std::string, std::string> facts;
    ltc_json::flatten(facts, "", root);
    return 0;
}

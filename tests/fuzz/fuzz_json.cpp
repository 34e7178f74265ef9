// ltc's one JSON writer (shim/common/json.c) and the report's JSON value and parser
// (shim/diagnose/diagnose_json.cpp), compiled here on their own. Two contracts, on every input:
//  1. whatever tree of values the writer is given, with any bytes in its strings and any double in its
//     numbers, its output is one valid JSON document (RFC 8259, strict UTF-8); every string that was
//     valid UTF-8 reads back unchanged; the parser reads the output back, and writing what it read gives
//     the same text (the cross-rank check sends reports between ranks so); flattening it for
//     ltc_diagnosis_get does not fail.
//  2. the input's bytes, as text, given to the parser: what it accepts writes as valid JSON that reads back
//     to the same text; what the strict checker accepts, it accepts too, unless nested past its limit or
//     holding a number that a double cannot (RFC 8259 section 9 lets a parser set both limits).
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
    ltc_json::json_write(out, root);

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

    J back;
    std::string why;
    if (!ltc_json::json_parse(out, &back, &why))
        fail("the parser refuses the writer's output: " + why, out);
    std::string again;
    ltc_json::json_write(again, back);
    if (again != out)
        fail("written, read and written again, the text differs:\n" + again, out);

    std::map<std::string, std::string> facts;
    ltc_json::flatten(facts, "", root);

    // 2. the raw bytes, parsed
    std::string text((const char *)data, size);
    J any;
    bool strict_ok = json_check(text.data(), text.size(), nullptr, nullptr) < 0;
    if (ltc_json::json_parse(text, &any, &why)) {
        std::string w1, w2;
        ltc_json::json_write(w1, any);
        if (json_check(w1.data(), w1.size(), nullptr, nullptr) >= 0)
            fail("a parsed input does not write as valid JSON", w1);
        J reread;
        if (!ltc_json::json_parse(w1, &reread, &why))
            fail("a parsed input, written, does not parse: " + why, w1);
        ltc_json::json_write(w2, reread);
        if (w2 != w1)
            fail("a parsed input, written, read and written again, differs:\n" + w2, w1);
    } else if (strict_ok && why.find("nested too deep") == std::string::npos && why.find("number out of range") == std::string::npos) {
        fail("valid JSON refused by the parser: " + why, text);
    }
    return 0;
}

// The cross-rank check's conclusions: each row's state, the findings across ranks (a GPU shared by two
// ranks, versions that differ), the overall verdict, and the report as text and JSON.
#include "dist_check.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

using ltc::check::Finding;
using ltc::check::Row;
using ltc_json::J;

namespace {

using ltc::fmt;

// 13000 -> "13.0", 22809 -> "2.28.9" (NCCL's numbering), 0 -> "-".
std::string cuda_text(int v) { return v ? fmt("%d.%d", v / 1000, (v % 1000) / 10) : "-"; }
std::string nccl_text(int v) { return v ? fmt("%d.%d.%d", v / 10000, (v % 10000) / 100, v % 100) : "-"; }

std::string hosts_of(const ltc_cluster_report *r, const std::vector<int> &ranks) {
    std::set<std::string> hosts;
    for (int q : ranks)
        if (!r->rows[q].host.empty())
            hosts.insert(r->rows[q].host);
    std::string out;
    for (const auto &h : hosts)
        out += (out.empty() ? "" : ", ") + h;
    return out;
}

// Sets a row's state once: the first problem found is the one it shows.
void mark(Row &row, ltc_rank_state state, const std::string &message, const std::string &fix) {
    if (row.state != LTC_RANK_OK)
        return;
    row.state = state;
    row.message = message;
    row.fix = fix;
}

void find_shared_gpus(ltc_cluster_report *r) {
    // Same UUID anywhere; without a UUID, the same cuda:N on the same host.
    std::map<std::string, std::vector<int>> users;
    for (const Row &row : r->rows) {
        if (row.state == LTC_RANK_NOT_JOINED || row.state == LTC_RANK_NO_REPORT)
            continue;
        if (!row.gpu_uuid.empty())
            users["uuid " + row.gpu_uuid].push_back(row.rank);
        else if (row.usable)
            users["host " + row.host + " cuda:" + std::to_string(row.local_rank)].push_back(row.rank);
    }
    for (const auto &kv : users) {
        if (kv.second.size() < 2)
            continue;
        const Row &first = r->rows[kv.second[0]];
        std::string gpu = !first.gpu_uuid.empty() ? first.gpu_uuid + (first.gpu_name.empty() ? "" : " (" + first.gpu_name + ")")
                                                  : "cuda:" + std::to_string(first.local_rank);
        Finding f;
        f.what = "ranks share a GPU";
        f.message = fmt("%s use one GPU, %s on host %s: NCCL needs one GPU per rank", ltc::check::rank_list(kv.second).c_str(),
                        gpu.c_str(), hosts_of(r, kv.second).c_str());
        f.fix = "start one rank per GPU on each host (LOCAL_RANK 0 to GPUs-1, each using cuda:<local rank>); check that "
                "CUDA_VISIBLE_DEVICES does not give two ranks the same GPU";
        f.ranks = kv.second;
        for (int q : kv.second)
            mark(r->rows[q], LTC_RANK_SHARED_GPU, f.message, f.fix);
        r->findings.push_back(f);
    }
}

// Ranks whose value differs from the most common one (ties: the lowest rank's value wins).
template <class Key>
void find_differences(ltc_cluster_report *r, const char *what, bool error, Key key) {
    std::map<std::string, std::vector<int>> groups;
    for (const Row &row : r->rows)
        if (row.state != LTC_RANK_NOT_JOINED && row.state != LTC_RANK_NO_REPORT)
            groups[key(row)].push_back(row.rank);
    if (groups.size() < 2)
        return;
    std::vector<std::pair<std::string, std::vector<int>>> sorted(groups.begin(), groups.end());
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto &a, const auto &b) {
        return a.second.size() != b.second.size() ? a.second.size() > b.second.size() : a.second[0] < b.second[0];
    });
    Finding f;
    f.error = error;
    f.what = fmt("%s differ across ranks", what);
    for (const auto &g : sorted)
        f.message += (f.message.empty() ? "" : "; ") + ltc::check::rank_list(g.second) + " (" + hosts_of(r, g.second) + "): " + g.first;
    f.fix = error ? "install the same LibTorch (with its CUDA and NCCL) on every host: the ranks must run the same build"
                  : "drivers may differ between hosts, but the same driver everywhere rules it out as a cause";
    for (size_t i = 1; i < sorted.size(); i++)
        for (int q : sorted[i].second) {
            f.ranks.push_back(q);
            if (error)
                mark(r->rows[q], LTC_RANK_VERSION_MISMATCH, f.message, f.fix);
        }
    std::sort(f.ranks.begin(), f.ranks.end());
    r->findings.push_back(f);
}

// The rows' own problems, one finding per distinct cause (and state).
void group_rows(ltc_cluster_report *r, std::vector<Finding> *out) {
    std::map<std::pair<int, int>, Finding> by;
    std::vector<std::pair<int, int>> order;
    for (const Row &row : r->rows) {
        if (row.state == LTC_RANK_OK || row.state == LTC_RANK_SHARED_GPU || row.state == LTC_RANK_VERSION_MISMATCH)
            continue;  // OK, or already a finding of its own
        auto key = std::make_pair((int)row.state, row.state == LTC_RANK_GPU_UNUSABLE ? (int)row.cause : 0);
        auto it = by.find(key);
        if (it == by.end()) {
            Finding f;
            f.what = row.state == LTC_RANK_GPU_UNUSABLE
                         ? fmt("%s [%s]", ltc_cause_summary(row.cause), ltc_cause_name(row.cause))
                         : ltc_rank_state_name(row.state);
            f.message = row.message;
            f.fix = row.fix;
            it = by.emplace(key, f).first;
            order.push_back(key);
        }
        it->second.ranks.push_back(row.rank);
    }
    for (const auto &k : order)
        out->push_back(by[k]);
}

std::string size_text(size_t b) {
    if (b >= (1u << 30) && b % (1u << 30) == 0)
        return fmt("%zu GiB", b >> 30);
    if (b >= (1u << 20) && b % (1u << 20) == 0)
        return fmt("%zu MiB", b >> 20);
    if (b >= (1u << 10) && b % (1u << 10) == 0)
        return fmt("%zu KiB", b >> 10);
    return fmt("%zu B", b);
}

std::string pad(const std::string &s, size_t w) { return s.size() >= w ? s + " " : s + std::string(w - s.size() + 1, ' '); }

std::string verdict_line(const ltc_cluster_report *r, std::vector<int> *failing) {
    std::set<int> bad;
    for (const auto &f : r->findings)
        if (f.error)
            bad.insert(f.ranks.begin(), f.ranks.end());
    failing->assign(bad.begin(), bad.end());
    const int world = (int)r->rows.size();
    if (ltc_cluster_report_ready(r))
        return fmt("READY: %s can train data-parallel%s", world == 1 ? "the one rank" : fmt("all %d ranks", world).c_str(),
                   r->proof.ran ? " (all-reduce proof passed)" : r->flags & LTC_DIAGNOSE_QUICK ? " (quick: no proofs ran)" : "");
    if (failing->empty())
        return fmt("NOT READY: %s", r->proof.message.c_str());
    std::string hosts = hosts_of(r, *failing);
    return fmt("NOT READY: %zu of %d rank%s cannot train: %s%s%s", failing->size(), world, world == 1 ? "" : "s",
               ltc::check::rank_list(*failing).c_str(), hosts.empty() ? "" : " on ", hosts.c_str());
}

}  // namespace

namespace ltc::check {

std::string rank_list(const std::vector<int> &ranks) {
    std::string out = ranks.size() == 1 ? "rank " : "ranks ";
    for (size_t i = 0; i < ranks.size(); i++)
        out += (i == 0 ? "" : i + 1 == ranks.size() ? " and " : ", ") + std::to_string(ranks[i]);
    return out;
}

void analyse(ltc_cluster_report *r) {
    const double t = r->timeout_s;
    for (Row &row : r->rows) {
        if (row.state == LTC_RANK_NOT_JOINED) {
            row.message = fmt("rank %d did not reach the store at %s:%d within %.0f s", row.rank, r->store_addr.c_str(),
                              r->store_port, t);
            row.fix = "check that every rank was started, that it can reach MASTER_ADDR:MASTER_PORT, and its own output";
        } else if (row.state == LTC_RANK_NO_REPORT && !row.message.empty()) {
            row.fix = "read that rank's own output (a crash, an abort, the signal that killed it)";
        } else if (row.state == LTC_RANK_NO_REPORT) {
            row.message = fmt("rank %d joined but sent no report within %.0f s: it died or hung during its diagnosis", row.rank, t);
            row.fix = "read that rank's own output (its exit status, a crash, a hung driver call)";
        } else if (!row.usable) {
            row.state = LTC_RANK_GPU_UNUSABLE;
        } else if (row.local_rank >= row.device_count) {
            mark(row, LTC_RANK_NO_DEVICE,
                 fmt("rank %d has local rank %d, but LibTorch sees %d GPU%s on host %s (cuda:0 to cuda:%d)", row.rank,
                     row.local_rank, row.device_count, row.device_count == 1 ? "" : "s", row.host.c_str(), row.device_count - 1),
                 "start at most one rank per GPU on each host, or fix LOCAL_RANK and CUDA_VISIBLE_DEVICES");
        }
    }
    r->findings.clear();
    std::vector<Finding> own;
    find_shared_gpus(r);
    find_differences(r, "LibTorch, CUDA and NCCL versions", true, [](const Row &row) {
        return "LibTorch " + row.torch_version + ", CUDA " + cuda_text(row.cuda_version) + ", NCCL " + nccl_text(row.nccl_version);
    });
    std::vector<Finding> cross = std::move(r->findings);
    r->findings.clear();
    group_rows(r, &r->findings);
    for (auto &f : cross)
        r->findings.push_back(std::move(f));
    find_differences(r, "driver versions", false, [](const Row &row) {
        if (!row.driver_version)
            return std::string("no driver");
        return (row.driver_release.empty() ? std::string("driver") : "driver " + row.driver_release) + " for CUDA " +
               cuda_text(row.driver_version);
    });
}

void render(ltc_cluster_report *r) {
    // ---- text: verdict, one block per distinct cause, warnings, the table, the proof and the sweep
    std::vector<int> failing;
    std::string text = verdict_line(r, &failing) + "\n";
    for (const auto &f : r->findings) {
        std::string hosts = hosts_of(r, f.ranks);
        text += fmt("%s %s: %s%s%s\n", f.error ? "-" : "- warning:", f.what.c_str(), rank_list(f.ranks).c_str(),
                    hosts.empty() ? "" : " on ", hosts.c_str());
        if (!f.message.empty())
            text += "    " + f.message + "\n";
        if (!f.fix.empty())
            text += "    fix: " + f.fix + "\n";
    }
    if (r->proof.ran && !r->proof.ok)
        text += "- all-reduce proof failed: " + r->proof.message + "\n";
    text += "\n";
    const char *head[] = {"host", "rank", "local", "GPU", "UUID", "driver", "LibTorch", "verdict", "cause"};
    std::vector<std::vector<std::string>> cells;
    cells.push_back(std::vector<std::string>(std::begin(head), std::end(head)));
    for (const Row &row : r->rows) {
        bool reported = row.state != LTC_RANK_NOT_JOINED && row.state != LTC_RANK_NO_REPORT;
        cells.push_back({row.host.empty() ? "?" : row.host, std::to_string(row.rank),
                         row.local_rank >= 0 ? std::to_string(row.local_rank) : "?", row.gpu_name.empty() ? "-" : row.gpu_name,
                         row.gpu_uuid.empty() ? "-" : row.gpu_uuid, !reported ? "?" : row.driver_release.empty() ? cuda_text(row.driver_version)
                                                                            : row.driver_release + " (CUDA " + cuda_text(row.driver_version) + ")",
                         reported ? row.torch_version : "?", ltc_rank_state_name(row.state),
                         row.state == LTC_RANK_GPU_UNUSABLE ? ltc_cause_name(row.cause) : row.state == LTC_RANK_OK ? "-" : row.message});
    }
    std::vector<size_t> width(9, 0);
    for (const auto &line : cells)
        for (size_t c = 0; c + 1 < line.size(); c++)
            width[c] = std::max(width[c], line[c].size());
    for (const auto &line : cells) {
        std::string l;
        for (size_t c = 0; c < line.size(); c++)
            l += c + 1 < line.size() ? pad(line[c], width[c]) : line[c];
        text += l + "\n";
    }
    if (r->proof.ran) {
        text += fmt("\nall-reduce proof (%s, %zu rank%s, %s float32 checked): %s\n", r->proof.backend.c_str(), r->rows.size(),
                    r->rows.size() == 1 ? "" : "s", size_text(r->proof.check_bytes).c_str(),
                    r->proof.ok ? "ok, every value as expected" : ("FAILED: " + r->proof.message).c_str());
    }
    if (!r->sweep.empty()) {
        text += fmt("\nall-reduce bandwidth over %zu rank%s (sum of float32; as nccl-tests: algbw = bytes / time, busbw = algbw "
                    "* 2(n-1)/n)\n", r->rows.size(), r->rows.size() == 1 ? "" : "s");
        text += fmt("%12s %12s %12s %12s\n", "size", "time (us)", "algbw (GB/s)", "busbw (GB/s)");
        for (const auto &b : r->sweep)
            text += fmt("%12s %12.1f %12.2f %12.2f\n", size_text(b.bytes).c_str(), b.time_us, b.algbw, b.busbw);
    }
    r->text = text;

    // ---- JSON: the same writer as the diagnosis, each rank's report rendered by the diagnosis's renderer
    auto ranks = [](const std::vector<int> &v) {
        J a = J::arr(true);
        for (int q : v)
            a.push(J::num(q));
        return a;
    };
    J j = J::obj();
    j.set("ready", J::boolean(ltc_cluster_report_ready(r)));
    j.set("verdict", J::str(verdict_line(r, &failing)));
    j.set("world_size", J::num((double)r->rows.size()));
    j.set("launcher", J::str(ltc_launcher_name(r->env.launcher)));
    j.set("timeout_s", J::num(r->timeout_s));
    j.set("quick", J::boolean(r->flags & LTC_DIAGNOSE_QUICK));
    j.set("failing_ranks", ranks(failing));
    J &findings = j.set("findings", J::arr());
    for (const auto &f : r->findings) {
        J &o = findings.push(J::obj(true));
        o.set("severity", J::str(f.error ? "error" : "warning"));
        o.set("what", J::str(f.what));
        o.set("message", J::str(f.message));
        o.set("fix", J::str(f.fix));
        o.set("ranks", ranks(f.ranks));
        o.set("hosts", J::str(hosts_of(r, f.ranks)));
    }
    J &rows = j.set("ranks", J::arr());
    for (const Row &row : r->rows) {
        J &o = rows.push(J::obj());
        o.set("rank", J::num(row.rank));
        o.set("local_rank", J::num(row.local_rank));
        o.set("host", J::str(row.host));
        o.set("state", J::str(ltc_rank_state_name(row.state)));
        o.set("cause", J::str(ltc_cause_name(row.cause)));
        J &gpu = o.set("gpu", J::obj(true));
        gpu.set("name", J::str(row.gpu_name));
        gpu.set("uuid", J::str(row.gpu_uuid));
        o.set("driver_version", J::num(row.driver_version));
        o.set("driver_release", J::str(row.driver_release));
        o.set("torch_version", J::str(row.torch_version));
        o.set("cuda_version", J::num(row.cuda_version));
        o.set("nccl_version", J::num(row.nccl_version));
        o.set("message", J::str(row.state == LTC_RANK_OK ? "" : row.message));
        o.set("fix", J::str(row.state == LTC_RANK_OK ? "" : row.fix));
        o.set("diagnosis", row.diagnosis ? ltc_diag::to_json(*row.diagnosis) : J::null());
    }
    if (r->proof.ran) {
        J &p = j.set("proof", J::obj(true));
        p.set("ok", J::boolean(r->proof.ok));
        p.set("backend", J::str(r->proof.backend));
        p.set("device", J::str(r->proof.device));
        p.set("checked_bytes", J::num((double)r->proof.check_bytes));
        p.set("message", J::str(r->proof.message));
        p.set("unfinished_ranks", ranks(r->proof.unfinished));
    } else {
        j.set("proof", J::null());
    }
    J &sweep = j.set("sweep", J::arr());
    for (const auto &b : r->sweep) {
        J &o = sweep.push(J::obj(true));
        o.set("bytes", J::num((double)b.bytes));
        o.set("time_us", J::num(b.time_us));
        o.set("algbw_gbps", J::num(b.algbw));
        o.set("busbw_gbps", J::num(b.busbw));
    }
    r->json.clear();
    ltc_json::json_write(r->json, j);
    r->json += "\n";
}

}  // namespace ltc::check

// The cross-rank check's collective proof (ltc_cluster_allreduce_proof): a group over the check's store,
// an all-reduce whose every value is checked, then a bandwidth sweep timed as nccl-tests times it (host
// clock around the calls, until the work is done; the mean over the ranks). Each step ends with every rank
// writing a key to the check's store once its own work is done, so a collective that hangs is named
// with the ranks that did not finish, within the timeout.
#include "dist_check.hpp"

#include "json.h"

#include <c10/core/Event.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <cmath>
#include <cstdio>
#include <unistd.h>

using ltc::fail;
using ltc::check::Row;
using ltc::dist::bytes_of;
using ltc::dist::Clock;
using ltc::dist::Failure;
using ltc::dist::seconds_since;
using ltc::dist::text_of;

namespace {

struct Ctx {
    ltc_cluster_report *r;
    ltc_dist *g;
    c10::Device device;
    double timeout_s;
    std::vector<int> unfinished;  // filled when a step times out
};

// Waits until the work queued so far on the group's device is done (the CPU store backend is already
// done), for at most the timeout. false if it is still running.
bool wait_local(const Ctx &c, Clock::time_point deadline) {
    if (!c.device.is_cuda())
        return true;
    c10::impl::VirtualGuardImpl impl(c.device.type());
    c10::Event ev(c.device.type());
    ev.record(impl.getStream(c.device));
    while (!ev.query()) {
        if (Clock::now() >= deadline)
            return false;
        usleep(50);
    }
    return true;
}

// One step of the proof, run inside the group's run_op: queues `launch`, waits for this rank's work,
// then publishes `payload` and waits for every rank's. Returns every rank's payload. A rank that does
// not finish in time is named (throws a Failure, which aborts the group).
std::vector<std::string> step(Ctx &c, const std::string &name, const std::string &what,
                              const std::function<void()> &launch, const std::function<std::string()> &payload) {
    const int world = c.r->env.world_size, me = c.r->env.rank;
    const auto start = Clock::now();
    const auto deadline = start + ltc::dist::duration_of(c.timeout_s);
    launch();
    bool done = wait_local(c, deadline);
    if (done)
        c.r->store->set(ltc::check::step_key(name, me), bytes_of(payload()));
    std::vector<std::string> keys;
    for (int q = 0; q < world; q++)
        keys.push_back(ltc::check::step_key(name, q));
    while (!c.r->store->check(keys)) {
        if (Clock::now() >= deadline || !done) {
            Failure f{LTC_ERR_TIMEOUT, "", {}};
            for (int q = 0; q < world; q++)
                if (!c.r->store->check({keys[q]}))
                    f.missing.push_back(q);
            c.unfinished = f.missing;
            char buf[512];
            snprintf(buf, sizeof buf, "%s did not finish within %.1f s on %s", what.c_str(), seconds_since(start),
                     ltc::check::rank_list(f.missing).c_str());
            f.message = buf;
            throw f;
        }
        usleep(done ? 200 : 0);
    }
    std::vector<std::string> out;
    for (auto &v : c.r->store->multiGet(keys))
        out.push_back(text_of(v));
    return out;
}

// The all-reduce with a data check: rank q contributes (q+1) * (1 + i % 7) at index i, so every element
// of the sum is n(n+1)/2 * (1 + i % 7), exact in float32.
ltc_status data_check(Ctx &c, int64_t n) {
    const int world = c.r->env.world_size, me = c.r->env.rank;
    std::vector<std::string> results;
    ltc_status st = ltc::dist::run_op(c.g, "all-reduce proof", [&] {
        at::NoGradGuard no_grad;
        auto opts = at::TensorOptions().dtype(at::kFloat).device(c.device);
        at::Tensor base = at::arange(n, opts).remainder_(7).add_(1);
        at::Tensor x = base * (double)(me + 1);
        char what[128];
        snprintf(what, sizeof what, "the data-checked all-reduce of %lld bytes", (long long)(n * 4));
        results = step(
            c, "check", what, [&] { c.g->backend->allreduce(x, ltc::dist::Op::sum, "all-reduce proof"); },
            [&]() -> std::string {
                at::Tensor expected = base * (world * (world + 1) / 2.0);
                at::Tensor wrong = x.ne(expected);
                int64_t nwrong = wrong.sum().item<int64_t>();
                if (nwrong == 0)
                    return "ok";
                int64_t i = wrong.nonzero().select(1, 0)[0].item<int64_t>();
                char buf[256];
                snprintf(buf, sizeof buf, "%lld of %lld values wrong on rank %d, the first at index %lld: %.9g, expected %.9g",
                         (long long)nwrong, (long long)n, me, (long long)i, x[i].item<double>(), expected[i].item<double>());
                return buf;
            });
    });
    if (st != LTC_OK)
        return st;
    std::vector<int> bad;
    std::string first;
    for (int q = 0; q < world; q++)
        if (results[q] != "ok") {
            bad.push_back(q);
            if (first.empty())
                first = results[q];
        }
    if (!bad.empty()) {
        c.unfinished = bad;
        return fail(LTC_ERR_DISTRIBUTED, "the all-reduce proof gave wrong values on %s: %s", ltc::check::rank_list(bad).c_str(),
                    first.c_str());
    }
    return LTC_OK;
}

ltc_status sweep(Ctx &c, size_t max_bytes) {
    const int world = c.r->env.world_size;
    const bool gpu = c.device.is_cuda();
    const int warm = gpu ? 5 : 1, iters = gpu ? 20 : 3;
    at::Tensor buf = at::zeros({(int64_t)(max_bytes / 4)}, at::TensorOptions().dtype(at::kFloat).device(c.device));
    for (size_t bytes = 8; bytes <= max_bytes; bytes *= 2) {
        at::Tensor x = buf.narrow(0, 0, (int64_t)(bytes / 4));
        std::vector<std::string> times;
        char what[128];
        snprintf(what, sizeof what, "the all-reduce of %zu bytes (bandwidth sweep)", bytes);
        ltc_status st = ltc::dist::run_op(c.g, "bandwidth sweep", [&] {
            auto run = [&](int k) {
                for (int i = 0; i < k; i++)
                    c.g->backend->allreduce(x, ltc::dist::Op::sum, "bandwidth sweep");
            };
            step(c, "warm/" + std::to_string(bytes), what, [&] { run(warm); }, [] { return std::string("ok"); });
            Clock::time_point t0;
            double seconds = 0;
            times = step(
                c, "time/" + std::to_string(bytes), what,
                [&] {
                    t0 = Clock::now();
                    run(iters);
                },
                [&] {
                    seconds = seconds_since(t0) / iters;  // wait_local has returned: the calls are done
                    char s[40];  // a JSON number: the same text on every rank, whatever its locale
                    return std::string(ltc_json_number_text(s, sizeof s, seconds));
                });
        });
        if (st != LTC_OK)
            return st;
        double mean = 0;
        for (size_t q = 0; q < times.size(); q++) {
            ltc_json::J v;
            if (!ltc_json::json_parse(times[q], &v, nullptr) || v.kind != ltc_json::J::Num)
                return fail(LTC_ERR_INTERNAL, "rank %zu timed the all-reduce of %zu bytes as '%s', which is not a number", q, bytes,
                            times[q].c_str());
            mean += v.n / world;
        }
        ltc::check::Bandwidth b;
        b.bytes = bytes;
        b.time_us = mean * 1e6;
        b.algbw = mean > 0 ? (double)bytes / mean / 1e9 : 0;
        b.busbw = b.algbw * 2.0 * (world - 1) / world;
        c.r->sweep.push_back(b);
    }
    return LTC_OK;
}

// Every rank says it has come to the proof, so that a rank that never does is named here (rather than
// as a rendezvous timeout of the group, without its row).
ltc_status start_together(Ctx &c) {
    const int world = c.r->env.world_size;
    c.r->store->set(ltc::check::step_key("start", c.r->env.rank), bytes_of("1"));
    std::vector<std::string> keys;
    for (int q = 0; q < world; q++)
        keys.push_back(ltc::check::step_key("start", q));
    const auto start = Clock::now();
    while (!c.r->store->check(keys)) {
        if (seconds_since(start) > c.timeout_s) {
            for (int q = 0; q < world; q++)
                if (!c.r->store->check({keys[q]}))
                    c.unfinished.push_back(q);
            return fail(LTC_ERR_TIMEOUT, "%s did not come to the all-reduce proof within %.1f s (not started, died, or hung)",
                        ltc::check::rank_list(c.unfinished).c_str(), c.timeout_s);
        }
        usleep(20000);
    }
    return LTC_OK;
}

// Why the report cannot run the proof on `device`; "" when it can.
std::string not_ready(const ltc_cluster_report *r, bool gpu) {
    if (r->proof.ran)
        return "the proof already ran on this report: make a new one with ltc_cluster_check";
    for (const Row &row : r->rows)
        if (row.state == LTC_RANK_NOT_JOINED || row.state == LTC_RANK_NO_REPORT)
            return "rank " + std::to_string(row.rank) + " did not report (" + ltc_rank_state_name(row.state) + ")";
    if (gpu && !ltc_cluster_report_ready(r))
        return "not every rank has a usable GPU of its own: " + std::string(ltc_cluster_report_text(r)).substr(
                                                                    0, std::string(ltc_cluster_report_text(r)).find('\n'));
    return "";
}

// Records the proof's outcome in the report: rows of the ranks that did not finish, a finding, the text.
void conclude(ltc_cluster_report *r, const Ctx &c, ltc_status st) {
    r->proof.ok = st == LTC_OK;
    r->proof.message = st == LTC_OK ? "" : ltc_last_error();
    r->proof.unfinished = c.unfinished;
    if (st != LTC_OK && !c.unfinished.empty()) {
        ltc::check::Finding f;
        f.what = "the all-reduce proof failed";
        f.message = r->proof.message;
        f.fix = "run with NCCL_DEBUG=INFO on those ranks; check their GPUs (nvidia-smi, dmesg for Xid errors) and the "
                "network between their hosts (NCCL_SOCKET_IFNAME, NCCL_IB_HCA)";
        f.ranks = c.unfinished;
        for (int q : c.unfinished) {
            Row &row = r->rows[q];
            if (row.state == LTC_RANK_OK) {
                row.state = LTC_RANK_COLLECTIVE;
                row.message = f.message;
                row.fix = f.fix;
            }
        }
        r->findings.insert(r->findings.begin(), f);
    }
    ltc::check::render(r);
}

}  // namespace

extern "C" ltc_status ltc_cluster_allreduce_proof(ltc_cluster_report *report, ltc_device device, size_t max_bytes,
                                                  double timeout_s) {
    LTC_CHECK_NOT_NULL(report);
    if (max_bytes > ((size_t)1 << 30))
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_cluster_allreduce_proof: max_bytes %zu is not valid: use 0 (no sweep) to 1 GiB",
                    max_bytes);
    if (!(timeout_s > 0) || !std::isfinite(timeout_s) || timeout_s > 1e7)
        return fail(LTC_ERR_INVALID_ARGUMENT,
                    "ltc_cluster_allreduce_proof: timeout %g s is not valid: use a number of seconds > 0 and at most 1e7", timeout_s);
    LTC_TRY {
        c10::Device dev(c10::kCPU);
        if (ltc::enum_int(device.type) == LTC_DEVICE_CUDA && device.index == -1)
            device.index = report->env.local_rank;  // "cuda": this rank's own GPU
        LTC_RETURN_IF_ERROR(ltc::to_c10_device(device, &dev));
        std::string why = not_ready(report, dev.is_cuda());
        if (!why.empty())
            return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_cluster_allreduce_proof: %s", why.c_str());

        // The group meets on the check's store, as it would on a launcher's.
        ltc_dist_env env = report->env;
        snprintf(env.master_addr, sizeof env.master_addr, "%s", report->store_addr.c_str());
        env.master_port = report->store_port;
        env.external_store = 1;
        report->proof.ran = true;
        report->proof.device = dev.str();
        Ctx c{report, nullptr, dev, timeout_s, {}};
        ltc_status st = LTC_OK;
        try {
            st = start_together(c);
        } catch (...) {
            st = ltc::handle_exception();
        }
        if (st == LTC_OK)
            st = ltc_dist_init(&c.g, &env, device, timeout_s);
        if (st == LTC_OK) {
            report->proof.backend = c.g->backend->name();
            int64_t n = max_bytes >= 8 ? (int64_t)std::min<size_t>(max_bytes / 4, 1 << 20) : (1 << 20);
            report->proof.check_bytes = (size_t)n * 4;
            st = data_check(c, n);
            if (st == LTC_OK && max_bytes >= 8)
                st = sweep(c, max_bytes);
            std::string m = ltc_last_error();
            ltc_dist_free(c.g);
            if (st != LTC_OK)
                fail(st, "%s", m.c_str());
        }
        conclude(report, c, st);
        return st;
    }
    LTC_CATCH
}

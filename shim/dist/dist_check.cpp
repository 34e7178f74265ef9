// The cross-rank check (ltc_cluster_check): every rank diagnoses its own GPU and reports its row to rank 0
// through a store that rank 0 hosts; rank 0 decides which ranks made it within the timeout, and every
// rank builds the same report from that decision. Also the report's accessors. The findings and the text
// are in dist_check_report.cpp, the collective proof in dist_check_proof.cpp.
#include "dist_check.hpp"

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

using ltc::fail;
using ltc::check::Row;
using ltc::check::Sent;
using ltc_json::J;
using ltc::dist::bytes_of;
using ltc::dist::Clock;
using ltc::dist::left_until;
using ltc::dist::text_of;
using ltc::dist::this_host;
using std::chrono::milliseconds;

namespace {

Clock::time_point after(double seconds) { return Clock::now() + ltc::dist::duration_of(seconds); }

// ------------------------------------------------------------------------------------------------
// This rank's row
// ------------------------------------------------------------------------------------------------

// What this rank sends rank 0: who it is and its diagnosis, as one JSON document.
ltc_status diagnose_self(std::string *out, const ltc_dist_env &env, unsigned flags) {
    ltc_diagnosis *d = nullptr;
    LTC_RETURN_IF_ERROR(ltc_diagnose(&d, flags));
    Sent self{env.rank, env.local_rank, this_host(), std::move(d->report)};
    ltc_diagnosis_free(d);
    out->clear();
    ltc_json::json_write(*out, ltc_diag::to_json(self));
    return LTC_OK;
}

// Rank q's row from what it sent; a document that cannot be read gives a row without a report.
Row read_row(int q, const std::string &text) {
    J j;
    std::string why;
    if (!ltc_json::json_parse(text, &j, &why)) {
        Row row;
        row.rank = q;
        row.local_rank = -1;
        row.state = LTC_RANK_NO_REPORT;
        row.message = ltc::fmt("rank %d's report cannot be read: %s (%zu bytes)", q, why.c_str(), text.size());
        return row;
    }
    Sent sent;
    ltc_diag::from_json(j, sent);
    Row row = Row::of(std::move(sent));
    row.rank = q;
    return row;
}

// Where rank 0 hosts the check's store, as it announces it through the launcher's store.
struct Where {
    std::string host;
    int port = 0;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("host", s.host)("port", s.port);
    }
};

// ------------------------------------------------------------------------------------------------
// The check's store
// ------------------------------------------------------------------------------------------------

std::atomic<int> g_generation{0};  // checks made by this process: keeps a second check's keys apart

// Opens the store the ranks report to. Rank 0 hosts it: on master_port, or, when the launcher hosts the
// store there (torchrun's agent), on a free port it announces through the launcher's store.
ltc_status open_store(ltc_cluster_report *r, int generation) {
    const ltc_dist_env &env = r->env;
    const std::string prefix = "ltc-check/" + std::to_string(env.restart) + "/" + std::to_string(generation);
    const std::string where = std::string(env.master_addr) + ":" + std::to_string(env.master_port);
    const milliseconds timeout((long long)std::ceil(r->timeout_s * 1000));
    std::string step = "";
    try {
        if (env.external_store) {
            step = "the launcher's store at " + where;
            r->launcher = ltc::dist::tcp_store(env.master_addr, env.master_port, left_until(r->deadline), false);
            auto announce = c10::make_intrusive<c10d::PrefixStore>(prefix, r->launcher);
            if (env.rank == 0) {
                step = "a store on a free port";
                r->tcp = ltc::dist::tcp_store(env.master_addr, 0, timeout, true);
                r->hosts = true;
                r->store_port = r->tcp->getPort();
                r->store_addr = "127.0.0.1";
                std::string where;
                ltc_json::json_write(where, ltc_diag::to_json(Where{this_host(), r->store_port}));
                announce->set("store", bytes_of(where));
            } else {
                step = "rank 0's announcement of its store, through the launcher's store at " + where;
                announce->wait({"store"}, left_until(r->deadline));
                std::string v = text_of(announce->get("store"));
                J j;
                Where at;
                if (ltc_json::json_parse(v, &j, nullptr))
                    ltc_diag::from_json(j, at);
                if (at.host.empty() || at.port <= 0 || at.port > 65535)
                    return fail(LTC_ERR_DISTRIBUTED, "rank 0 announced its store as '%s', which is not {\"host\": ..., \"port\": 1 to 65535}",
                                v.c_str());
                r->store_addr = this_host() == at.host ? std::string("127.0.0.1") : at.host;
                r->store_port = at.port;
                step = "rank 0's store at " + r->store_addr + ":" + std::to_string(at.port);
                r->tcp = ltc::dist::tcp_store(r->store_addr, at.port, left_until(r->deadline), false);
            }
        } else if (env.rank == 0) {
            step = "a store on port " + std::to_string(env.master_port) + " (MASTER_PORT)";
            r->tcp = ltc::dist::tcp_store(env.master_addr, env.master_port, timeout, true);
            r->hosts = true;
            r->store_port = r->tcp->getPort();
            r->store_addr = env.master_addr;
        } else {
            step = "rank 0's store at " + where + " (MASTER_ADDR:MASTER_PORT)";
            r->store_addr = env.master_addr;
            r->store_port = env.master_port;
            r->tcp = ltc::dist::tcp_store(env.master_addr, env.master_port, left_until(r->deadline), false);
        }
    } catch (const std::exception &e) {
        std::string m = ltc::what_of(e);
        if (ltc::dist::port_in_use(m))
            return fail(LTC_ERR_DISTRIBUTED, "rank 0 cannot host the check's store on port %d (MASTER_PORT): the port is "
                        "already in use; pick a free port", env.master_port);
        return fail(env.rank == 0 ? LTC_ERR_DISTRIBUTED : LTC_ERR_TIMEOUT,
                    "rank %d of %d cannot open %s within the timeout of %.1f s: %s", env.rank, env.world_size,
                    step.c_str(), r->timeout_s, m.c_str());
    }
    r->tcp->setTimeout(timeout);
    r->store = c10::make_intrusive<c10d::PrefixStore>(prefix, r->tcp);
    return LTC_OK;
}

// Rank 0: waits until every rank has reported or the deadline passes, and publishes who made it. A
// rank whose launcher (ltc_launch_local) noted in the store that its process ended is not waited for:
// decision 'X', and "gone/<rank>" says how it ended.
std::string decide(ltc_cluster_report *r) {
    const int world = r->env.world_size;
    auto notes = c10::make_intrusive<c10d::PrefixStore>(ltc::dist::store_prefix(r->env.restart), r->tcp);
    std::vector<std::string> reports;
    for (int q = 0; q < world; q++)
        reports.push_back("report/" + std::to_string(q));
    std::string decision(world, '-');
    while (Clock::now() < r->deadline) {
        bool waiting = false;
        for (int q = 0; q < world; q++) {
            if (decision[q] != '-')
                continue;
            if (r->store->check({reports[q]})) {
                decision[q] = 'R';
            } else if (r->hosts && notes->check({ltc::dist::heartbeat_key(q)})) {
                std::string v = text_of(notes->get(ltc::dist::heartbeat_key(q)));
                if (v.rfind("exit ", 0) == 0 || v.rfind("signal ", 0) == 0) {
                    decision[q] = 'X';
                    r->store->set("gone/" + std::to_string(q), bytes_of(v));
                }
            }
            waiting |= decision[q] == '-';
        }
        if (!waiting)
            break;
        usleep(50000);
    }
    for (int q = 0; q < world; q++)
        if (decision[q] == '-')
            decision[q] = r->store->check({reports[q]}) ? 'R' : r->store->check({"join/" + std::to_string(q)}) ? 'J' : '-';
    r->store->set("decision", bytes_of(decision));
    return decision;
}

ltc_status gather(ltc_cluster_report *r) {
    const ltc_dist_env &env = r->env;
    const int world = env.world_size;
    const std::string me = std::to_string(env.rank);
    r->store->set("join/" + me, bytes_of(this_host()));
    std::string self;
    LTC_RETURN_IF_ERROR(diagnose_self(&self, env, r->flags));
    r->store->set("report/" + me, bytes_of(self));

    if (env.rank == 0) {
        r->decision = decide(r);
    } else {
        // Rank 0 decides at its deadline at the latest; it may have started later than this rank.
        auto wait_until = r->deadline + ltc::dist::duration_of(std::min(r->timeout_s, 60.0) + 5.0);
        while (!r->store->check({"decision"})) {
            if (Clock::now() >= wait_until)
                return fail(LTC_ERR_TIMEOUT,
                            "rank %d: rank 0 did not publish which ranks reported within %.1f s: it is hung, or died "
                            "after opening the store at %s:%d",
                            env.rank, r->timeout_s, r->store_addr.c_str(), r->store_port);
            usleep(50000);
        }
        r->decision = text_of(r->store->get("decision"));
        if ((int)r->decision.size() != world)
            return fail(LTC_ERR_DISTRIBUTED, "rank 0's decision covers %zu ranks but this job has %d: the ranks disagree on WORLD_SIZE",
                        r->decision.size(), world);
    }

    std::vector<std::string> keys;
    for (int q = 0; q < world; q++)
        if (r->decision[q] == 'R')
            keys.push_back("report/" + std::to_string(q));
    auto values = r->store->multiGet(keys);
    r->rows.assign(world, Row{});
    size_t k = 0;
    for (int q = 0; q < world; q++) {
        Row &row = r->rows[q];
        if (r->decision[q] == 'R') {
            row = read_row(q, text_of(values[k++]));
        } else {
            row.rank = q;
            row.local_rank = -1;
            row.state = r->decision[q] == '-' ? LTC_RANK_NOT_JOINED : LTC_RANK_NO_REPORT;
            if (r->store->check({"join/" + std::to_string(q)}))
                row.host = text_of(r->store->get("join/" + std::to_string(q)));
            if (r->decision[q] == 'X')
                row.message = "rank " + std::to_string(q) + "'s process ended (" +
                              text_of(r->store->get("gone/" + std::to_string(q))) + ") before it reported";
        }
    }
    return LTC_OK;
}

void close_store(ltc_cluster_report *r) {
    if (!r->store)
        return;
    const ltc_dist_env &env = r->env;
    auto limit = after(r->timeout_s);
    try {
        r->store->set("done/" + std::to_string(env.rank), bytes_of("1"));
        if (r->hosts) {
            // Keep the store up until every rank that reported has let go of it.
            std::vector<std::string> keys;
            for (int q = 0; q < env.world_size; q++)
                if (q != env.rank && q < (int)r->decision.size() && r->decision[q] == 'R')
                    keys.push_back("done/" + std::to_string(q));
            while (!keys.empty() && !r->store->check(keys) && Clock::now() < limit)
                usleep(20000);
        } else if (!env.external_store) {
            // The store is on MASTER_PORT: return once rank 0 has closed it, so that a group made next on
            // that port cannot reach this one.
            while (Clock::now() < limit) {
                r->store->check({"done/0"});
                usleep(20000);
            }
        }
    } catch (...) {
        // the server is gone: what the wait was for
    }
}

}  // namespace

namespace ltc::check {

std::string step_key(const std::string &step, int rank) { return "proof/" + step + "/" + std::to_string(rank); }

Row Row::of(Sent sent) {
    const ltc_diag::Report &d = sent.diagnosis;
    Row row;
    row.rank = sent.rank;
    row.local_rank = sent.local_rank;
    row.host = sent.host;
    if (sent.local_rank >= 0 && (size_t)sent.local_rank < d.devices.size()) {
        row.gpu_name = d.devices[(size_t)sent.local_rank].name;
        row.gpu_uuid = d.devices[(size_t)sent.local_rank].uuid.value_or("");
    }
    row.torch_version = d.build.torch_version;
    row.driver_version = d.driver.version.value_or(0);
    row.driver_release = d.driver_release();
    row.cuda_version = (int)d.build.cuda_runtime_version.value_or(0);
    row.nccl_version = (int)d.build.nccl_runtime_version.value_or(d.build.nccl_version.value_or(0));
    row.device_count = d.libtorch.device_count;
    row.usable = d.usable;
    row.cause = d.cause.code;
    row.message = d.cause.message;
    row.fix = d.cause.fix;
    row.diagnosis = std::move(sent.diagnosis);
    return row;
}

}  // namespace ltc::check

extern "C" {

const char *ltc_rank_state_name(ltc_rank_state state) {
    switch (ltc::enum_int(state)) {
    case LTC_RANK_OK: return "ok";
    case LTC_RANK_GPU_UNUSABLE: return "gpu unusable";
    case LTC_RANK_NOT_JOINED: return "did not join";
    case LTC_RANK_NO_REPORT: return "no report";
    case LTC_RANK_NO_DEVICE: return "no GPU for its local rank";
    case LTC_RANK_SHARED_GPU: return "shares a GPU";
    case LTC_RANK_VERSION_MISMATCH: return "versions differ";
    case LTC_RANK_COLLECTIVE: return "collective failed";
    }
    return "unknown";
}

ltc_status ltc_cluster_check(ltc_cluster_report **out, const ltc_dist_env *env, unsigned flags, double timeout_s) {
    LTC_CHECK_OUT(out);
    LTC_CHECK_NOT_NULL(env);
    LTC_RETURN_IF_ERROR(ltc::dist::check_env(__func__, *env));
    if (flags & ~(unsigned)(LTC_DIAGNOSE_QUICK | LTC_DIAGNOSE_NO_CHILD))
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_cluster_check: flags 0x%x are not valid: use 0 or LTC_DIAGNOSE_* or'ed", flags);
    LTC_RETURN_IF_ERROR(ltc::dist::check_timeout(__func__, timeout_s));
    LTC_TRY {
        auto *r = new ltc_cluster_report();
        r->env = *env;
        r->flags = flags;
        r->timeout_s = timeout_s;
        r->deadline = after(timeout_s);
        ltc_status st = LTC_OK;
        try {
            st = open_store(r, g_generation++);
            if (st == LTC_OK)
                st = gather(r);
        } catch (const c10::DistNetworkError &e) {
            st = fail(LTC_ERR_DISTRIBUTED, "rank %d: the connection to the check's store at %s:%d, which rank 0 hosts, broke: "
                      "rank 0 died (%s)", env->rank, r->store_addr.c_str(), r->store_port, e.what_without_backtrace());
        } catch (...) {
            st = ltc::handle_exception();
        }
        if (st != LTC_OK) {
            std::string m = ltc_last_error();
            r->decision.clear();
            delete r;  // no waiting: the other ranks learn of it from their own timeouts
            return fail(st, "%s", m.c_str());
        }
        ltc::check::analyse(r);
        ltc::check::render(r);
        *out = r;
        return LTC_OK;
    }
    LTC_CATCH
}

void ltc_cluster_report_free(ltc_cluster_report *report) {
    if (!report)
        return;
    try {
        close_store(report);
    } catch (...) {
    }
    delete report;
}

int ltc_cluster_report_ready(const ltc_cluster_report *report) {
    if (!report) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_cluster_report_ready: argument 'report' is NULL");
        return 0;
    }
    for (const auto &f : report->findings)
        if (f.error)
            return 0;
    return !report->proof.ran || report->proof.ok;
}

int ltc_cluster_report_rank_count(const ltc_cluster_report *report) {
    if (!report) {
        fail(LTC_ERR_INVALID_ARGUMENT, "ltc_cluster_report_rank_count: argument 'report' is NULL");
        return -1;
    }
    return (int)report->rows.size();
}

ltc_status ltc_cluster_report_rank(ltc_cluster_rank *out, const ltc_cluster_report *report, int rank) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(report);
    if (rank < 0 || rank >= (int)report->rows.size())
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_cluster_report_rank: rank %d is not valid: the report has %zu ranks (0 to %d)",
                    rank, report->rows.size(), (int)report->rows.size() - 1);
    const Row &r = report->rows[rank];
    ltc_cluster_rank c{};
    c.rank = r.rank;
    c.local_rank = r.local_rank;
    c.state = r.state;
    c.cause = r.cause;
    c.host = r.host.c_str();
    c.gpu_name = r.gpu_name.c_str();
    c.gpu_uuid = r.gpu_uuid.c_str();
    c.torch_version = r.torch_version.c_str();
    c.driver_version = r.driver_version;
    c.driver_release = r.driver_release.c_str();
    c.cuda_version = r.cuda_version;
    c.nccl_version = r.nccl_version;
    c.message = r.state == LTC_RANK_OK ? "" : r.message.c_str();
    c.fix = r.state == LTC_RANK_OK ? "" : r.fix.c_str();
    *out = c;
    return LTC_OK;
}

size_t ltc_cluster_report_sweep_count(const ltc_cluster_report *report) { return report ? report->sweep.size() : 0; }

ltc_status ltc_cluster_report_sweep(ltc_cluster_bandwidth *out, const ltc_cluster_report *report, size_t index) {
    LTC_CHECK_NOT_NULL(out);
    LTC_CHECK_NOT_NULL(report);
    if (index >= report->sweep.size())
        return fail(LTC_ERR_INVALID_ARGUMENT, "ltc_cluster_report_sweep: index %zu is not valid: the sweep has %zu sizes%s", index,
                    report->sweep.size(), report->sweep.empty() ? " (run ltc_cluster_allreduce_proof with max_bytes > 0 first)" : "");
    const auto &b = report->sweep[index];
    out->bytes = b.bytes;
    out->time_us = b.time_us;
    out->algbw_gbps = b.algbw;
    out->busbw_gbps = b.busbw;
    return LTC_OK;
}

const char *ltc_cluster_report_json(const ltc_cluster_report *report) { return report ? report->json.c_str() : ""; }
const char *ltc_cluster_report_text(const ltc_cluster_report *report) { return report ? report->text.c_str() : ""; }

}  // extern "C"

// The cross-rank check's internals, shared by dist_check.cpp (store, gathering, C API),
// dist_check_report.cpp (findings across ranks, text and JSON) and dist_check_proof.cpp (the all-reduce
// proof and the bandwidth sweep).
#pragma once

#include "dist_internal.hpp"

// The typed report each rank sends (the diagnose and dist wings share internals where one serves the other).
#include "../diagnose/diagnose_report.hpp"

#include <optional>
#include <string>
#include <vector>

namespace ltc::check {

// What each rank sends rank 0 through the check's store, as one JSON document (ltc's writer; read back
// with its parser and the report's typed reader): who it is, and its whole diagnosis.
struct Sent {
    int rank = 0, local_rank = 0;
    std::string host;
    ltc_diag::Report diagnosis;
    template <class S, class V>
    static void fields(S &s, V &v) {
        v("rank", s.rank)("local_rank", s.local_rank)("host", s.host)("diagnosis", s.diagnosis);
    }
};

// One rank's row: what its report says, then what the analysis concluded.
struct Row {
    int rank = 0, local_rank = 0;
    ltc_rank_state state = LTC_RANK_OK;
    ltc_cause cause = LTC_CAUSE_NONE;
    std::string host, gpu_name, gpu_uuid, torch_version, driver_release, message, fix;
    int driver_version = 0, cuda_version = 0, nccl_version = 0;
    int device_count = 0;    // GPUs LibTorch sees on that rank
    bool usable = false;     // its diagnosis found a usable GPU
    std::optional<ltc_diag::Report> diagnosis;  // its whole report (none when it sent none)

    // The row of what a rank sent: the facts of its report, typed.
    static Row of(Sent sent);
};

// A finding across ranks (or a group of rows with one cause), for the verdict.
struct Finding {
    bool error = true;       // false: a warning, the job can still train
    std::string what;        // a few words: "no NVIDIA driver [LTC_CAUSE_NO_DRIVER]", "two ranks share a GPU"
    std::string message;     // the evidence, one sentence
    std::string fix;
    std::vector<int> ranks;
};

struct Bandwidth {
    size_t bytes = 0;
    double time_us = 0, algbw = 0, busbw = 0;
};

struct Proof {
    bool ran = false, ok = false;
    std::string backend;     // "nccl" or "store"
    std::string device;      // "cuda:0" (rank 0's)
    size_t check_bytes = 0;  // the data-checked all-reduce
    std::string message;     // "" when ok
    std::vector<int> unfinished;
};

// Every rank writes fin keys under "proof/<step>/<rank>" in the report's store; rank 0's server lives as
// long as rank 0's report.
std::string step_key(const std::string &step, int rank);

}  // namespace ltc::check

struct ltc_cluster_report {
    ltc_dist_env env{};
    double timeout_s = 0;
    unsigned flags = 0;
    ltc::dist::Clock::time_point deadline{};

    c10::intrusive_ptr<c10d::TCPStore> tcp;         // the check's store (rank 0: its server)
    c10::intrusive_ptr<c10d::TCPStore> launcher;    // the launcher's store, when it hosts one
    c10::intrusive_ptr<c10d::Store> store;          // tcp under the check's prefix
    bool hosts = false;                             // this process runs the check's store server
    std::string store_addr;                         // where the check's store is: group members connect here
    int store_port = 0;

    std::vector<ltc::check::Row> rows;              // one per rank, by rank
    std::string decision;                           // per rank: 'R' reported, 'J' joined only, 'X' its
                                                    // process ended (its launcher said), '-' absent
    std::vector<ltc::check::Finding> findings;      // errors first, then warnings
    ltc::check::Proof proof;
    std::vector<ltc::check::Bandwidth> sweep;

    std::string json, text;                         // rendered from the above
};

namespace ltc::check {

// dist_check_report.cpp: fills the rows' states and the findings from what the ranks reported, and
// renders the report (again after the proof).
void analyse(ltc_cluster_report *r);
void render(ltc_cluster_report *r);
// "ranks 0, 2 and 5" / "rank 3"
std::string rank_list(const std::vector<int> &ranks);

}  // namespace ltc::check

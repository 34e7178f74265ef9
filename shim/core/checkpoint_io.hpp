// Internal to libltc: the file side of every checkpoint (checkpoint.cpp's Linear-only one,
// checkpoint_state.cpp's general one): atomic writes, whole reads, LTC_ERR_IO messages, and LibTorch's
// zip format, the one torch.save writes and torch.load reads.
#pragma once

#include "internal.hpp"

#include <functional>
#include <string>
#include <tuple>
#include <vector>

namespace ltc::ckpt {

// The shortest text that reads back as v: 0.1, not 0.10000000000000001.
std::string number_text(double v);

// The folder a path's file lives in: "." for "x", "/" for "/x".
std::string folder_of(const std::string &path);

// A file-system call that failed with errno err: LTC_ERR_IO, "fn: cannot <what> <target>: <strerror> (hint;
// note)", the hint saying what err means for path's folder.
ltc_status io_fail(const char *fn, const char *what, const std::string &target, int err, const std::string &path,
                   const char *note = "");

// A path that names a folder: LTC_ERR_IO at once, before anything is written or read.
ltc_status refuse_folder(const char *fn, const std::string &path);

// Writes bytes to path through path.tmp.<pid>: write, fsync, rename, fsync of the folder. A crash at any
// point leaves either the old file or the new one, whole; a failure removes the temporary file.
ltc_status write_atomically(const char *fn, const std::string &path, const std::vector<char> &bytes);

// The whole file at path.
ltc_status read_whole(const char *fn, std::vector<char> *out, const std::string &path);

// The file's bytes for value: the layout of torch.save (archive/data.pkl, archive/data/<n>, ...), pickled
// without TorchScript's type tags so that torch.load(weights_only=True) accepts it.
std::vector<char> encode(const c10::IValue &value);

// A zip record's bytes and size, by name ("data/0").
using RecordReader = std::function<std::tuple<at::DataPtr, size_t>(const std::string &)>;

// The value of a torch.save pickle (data.pkl) whose storages record() reads: dicts (OrderedDicts too),
// lists, tuples, numbers, text, None and tensors (on the CPU). What else it holds, or a pickle cut short or
// inconsistent: std::runtime_error saying what (checkpoint_pickle.cpp).
c10::IValue unpickle(const std::vector<char> &pickle, const RecordReader &record);

// The value a file in torch.save's format holds, its tensors on the CPU; Python's OrderedDicts (a
// state_dict) read as dicts. Refused with LTC_ERR_INVALID_ARGUMENT naming path: a TorchScript module,
// what LibTorch cannot read (truncated, corrupt, not a zip). format: what the file should be, for the
// message ("ltc.checkpoint.2").
ltc_status decode(c10::IValue *out, const std::string &path, const std::vector<char> &bytes, const char *format);

}  // namespace ltc::ckpt

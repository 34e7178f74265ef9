# Sourced by scripts/run and scripts/test: find LibTorch, configure and build one preset.
# Usage: ltc_build PRESET
set -euo pipefail
LTC_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

ltc_build() {
    local preset=$1 torch_dir jobs
    torch_dir=$("$LTC_TOP/scripts/setup") || {
        echo "error: no LibTorch (see the messages above)" >&2
        exit 1
    }
    jobs=${LTC_JOBS:-$(nproc 2>/dev/null || echo 2)}
    cd "$LTC_TOP"
    echo "== configure ($preset)" >&2
    cmake --preset "$preset" -DTorch_DIR="$torch_dir" >"$LTC_TOP/build/configure-$preset.log" 2>&1 || {
        cat "$LTC_TOP/build/configure-$preset.log" >&2
        echo "error: cmake configure failed (log: build/configure-$preset.log)" >&2
        exit 1
    }
    echo "== build ($preset, $jobs jobs)" >&2
    cmake --build --preset "$preset" --parallel "$jobs"
}
mkdir -p "$LTC_TOP/build"

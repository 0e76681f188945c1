#!/usr/bin/env bash
# test_no_host_sync.sh — no op may synchronise the host with the device. Lists every call in the
# library's sources to a CUDA function that waits for the device, allocates or frees outside the
# stream, or resets it (cudaStreamSynchronize, cudaDeviceSynchronize, cudaEventSynchronize, cudaMemcpy
# and cudaMemset without Async, cudaMalloc, cudaFree, pinned and managed allocations, memory-pool
# creation and trimming, cuBLAS handle creation, ...), and fails, naming file:line and the enclosing
# function, for every one outside the allow-list below: the helpers whose job is to synchronise
# (ax_copy_*, ax_device_alloc/free, ax_context_synchronize) and context creation and destruction.
# Such a call inside an op would stall the caller's pipeline and break CUDA-graph capture (see
# tests/test_cuda_graph.c).
#
# It first checks itself on a planted file (it must fail there, and pass on a clean one), so a
# broken pattern cannot pass silently.
#
# Usage: test_no_host_sync.sh [SRC_DIR]   (default: the src/ next to this script's tests/)
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=${1:-$here/../src}

# Calls that block the host or are forbidden during stream capture. Word-bounded, followed by "(",
# so the stream-ordered forms (cudaMemcpyAsync, cudaMallocAsync, cudaFreeAsync, ...) and mentions
# in comments and messages do not match.
pattern='(^|[^A-Za-z0-9_])(cudaStreamSynchronize|cudaDeviceSynchronize|cudaEventSynchronize|cudaThreadSynchronize|cudaDeviceReset|cudaMemcpy(2D|3D|Peer|ToSymbol|FromSymbol|2DToArray|2DFromArray|ToArray|FromArray)?|cudaMemset(2D|3D)?|cudaMalloc(Host|Managed|Pitch|3D|Array|3DArray|MipmappedArray)?|cudaHostAlloc|cudaHostRegister|cudaHostUnregister|cudaFree(Host|Array|MipmappedArray)?|cudaMemPoolCreate|cudaMemPoolDestroy|cudaMemPoolTrimTo|cublasCreate|cublasDestroy)[[:space:]]*\('

# Places allowed to make such calls: "path under src:function". Keep each one justified.
allowed='
core/cuda_runtime.cu:ax_cuda_context_init
core/cuda_runtime.cu:create_pool
core/cuda_runtime.cu:ax_cuda_context_release
core/cuda_runtime.cu:ax_cuda_alloc
core/cuda_runtime.cu:ax_cuda_free
core/cuda_runtime.cu:ax_cuda_copy
core/cuda_runtime.cu:ax_cuda_synchronize
core/cuda_runtime.cu:ax_cuda_blas_handle
'
# create_pool: called from ax_cuda_context_init only.
# ax_cuda_blas_handle: cublasCreate at a context's first cuBLAS op (the handle is made lazily, as
#   internal.h documents); a program that captures GEMMs into a graph runs one eagerly first.

# Prints "file:line: in function: code" for every call in directory $1 outside $2 (the allow-list);
# returns 1 when there is one.
scan() {
    local dir=$1 allow=$2
    local files
    files=$(find "$dir" -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' -o -name '*.cpp' \
                -o -name '*.inc' \) | LC_ALL=C sort)
    [ -n "$files" ] || return 0
    # The enclosing function: the last line at column 0 that opens a definition, i.e. starts with an
    # identifier and has one followed by "(" (launch bounds removed first). The library's style puts
    # every definition there, namespace contents included.
    # shellcheck disable=SC2086
    # Passed through the environment: awk -v would interpret the backslashes of the pattern.
    SCAN_PATTERN=$pattern SCAN_ROOT="$dir/" SCAN_ALLOW=$allow awk '
        BEGIN {
            pat = ENVIRON["SCAN_PATTERN"]; root = ENVIRON["SCAN_ROOT"]
            n = split(ENVIRON["SCAN_ALLOW"], lines, "\n")
            for (i = 1; i <= n; i++) if (lines[i] != "") ok[lines[i]] = 1
        }
        FNR == 1 {
            fn = "(file scope)"; rel = FILENAME
            if (index(rel, root) == 1) rel = substr(rel, length(root) + 1)
        }
        /^[A-Za-z_]/ && !/^(static_assert|typedef|struct|enum|union|namespace|class|template|extern "C" \{)/ {
            line = $0
            gsub(/__launch_bounds__\([^)]*\)/, "", line)
            if (match(line, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/)) {
                fn = substr(line, RSTART, RLENGTH)
                sub(/[ \t]*\($/, "", fn)
            }
        }
        $0 ~ pat {
            code = $0
            sub(/^[ \t]+/, "", code)
            if (code ~ /^(\/\*|\*|\/\/)/) next           # a comment line
            if (!((rel ":" fn) in ok)) { printf "%s:%d: in %s: %s\n", rel, FNR, fn, code; bad = 1 }
        }
        END { exit bad ? 1 : 0 }
    ' $files
}

status=0

# ---- self-check: the scan must catch a planted call and pass a clean file ----
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bad/core" "$tmp/good/core"
cat > "$tmp/bad/core/planted.cu" <<'EOF'
namespace {
ax_status some_op(ax_context *ctx) {
    /* cudaStreamSynchronize(stream) in a comment is fine */
    void *p = NULL;
    cudaMallocAsync(&p, 16, stream);
    cudaDeviceSynchronize();
    return AX_OK;
}
}
extern "C" ax_status ax_cuda_synchronize(ax_context *ctx) { return cudaStreamSynchronize(s) ? AX_ERR_CUDA : AX_OK; }
EOF
cat > "$tmp/good/core/clean.cu" <<'EOF'
ax_status some_op(ax_context *ctx) {
    cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToDevice, stream);
    cudaMemsetAsync(dst, 0, n, stream);
    return ax_set_error(AX_ERR_CUDA, "cudaStreamSynchronize: failed"); /* a message, not a call */
}
EOF
planted=$(scan "$tmp/bad" "core/planted.cu:ax_cuda_synchronize")
planted_rc=$?
if [ $planted_rc -eq 0 ] || [ "$(printf '%s\n' "$planted" | grep -c .)" -ne 1 ] ||
   ! printf '%s\n' "$planted" | grep -q '^core/planted.cu:6: in some_op: cudaDeviceSynchronize();$'; then
    echo "FAIL self-check: the scan should report exactly core/planted.cu:6 (some_op), it reported:"
    printf '%s\n' "$planted"
    status=1
fi
clean=$(scan "$tmp/good" "")
if [ $? -ne 0 ]; then
    echo "FAIL self-check: the scan reported a clean file:"
    printf '%s\n' "$clean"
    status=1
fi

# ---- the library ----
if [ ! -d "$src" ]; then
    echo "FAIL: no source directory $src"
    exit 1
fi
report=$(scan "$src" "$allowed")
if [ $? -ne 0 ]; then
    echo "FAIL: host-synchronising CUDA calls outside the allowed places (tests/test_no_host_sync.sh):"
    printf '%s\n' "$report"
    status=1
fi

checks=3
failed=$status
echo "$checks checks, $failed failed"
exit $status

/*
 * test_cuda_graph.c — Evoformer attention forward + backward captured into a CUDA graph. The ops
 * must queue everything on the context's stream and never synchronise the host or allocate outside
 * the stream (the capture runs in cudaStreamCaptureModeGlobal, where such a call fails the capture);
 * their workspace comes from the context's stream-ordered pool, which the capture turns into graph
 * memory nodes. The graph's results must equal the eager run's bit for bit (the kernels are
 * deterministic), on two launches, and the CPU backend's within the tolerances of
 * test_evoformer_cuda.c. Cases: fp32 (SIMT kernels) and bf16 (tensor cores where the device has
 * them), with a mask and a pair bias and both bias gradients. Also checks that the device workspace
 * is counted in ax_context_workspace_peak, and a GEMM under capture (a context's first is refused,
 * later ones capture). Skips (exit 77) without a CUDA device.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/evoformer.h"
#include "axial/linalg.h"
#include "harness.h"

/* A CUDA runtime failure outside the code under test means the test itself cannot go on. */
#define CUDA_OR_DIE(call)                                                                                   \
    do {                                                                                                    \
        cudaError_t cuda_err_ = (call);                                                                     \
        if (cuda_err_ != cudaSuccess) {                                                                     \
            fprintf(stderr, "FATAL %s:%d: %s: %s\n", __FILE__, __LINE__, #call, cudaGetErrorString(cuda_err_)); \
            exit(1);                                                                                        \
        }                                                                                                   \
    } while (0)

static cudaStream_t g_stream;
static ax_context *g_cuda;
static ax_context *g_cpu;

/* One contiguous tensor on the host (for the CPU context) and on the device (for the CUDA one). */
typedef struct twin {
    ax_tensor host, dev;
    size_t bytes;
} twin;

static size_t dtype_bytes(ax_dtype dt) { return dt == AX_F32 ? 4 : 2; }

static void *host_alloc(size_t bytes) {
    void *p = malloc(bytes);
    if (p == NULL) {
        fprintf(stderr, "FATAL: out of host memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

static void twin_alloc(twin *t, ax_dtype dt, int32_t ndim, const int64_t *shape) {
    memset(t, 0, sizeof *t);
    t->host.dtype = dt;
    t->host.ndim = ndim;
    int64_t stride = 1;
    for (int32_t d = ndim - 1; d >= 0; d--) {
        t->host.shape[d] = shape[d];
        t->host.strides[d] = stride;
        stride *= shape[d];
    }
    t->bytes = (size_t)stride * dtype_bytes(dt);
    t->host.data = host_alloc(t->bytes);
    t->host.device.type = AX_CPU;
    t->dev = t->host;
    t->dev.device.type = AX_CUDA;
    t->dev.device.id = 0;
    t->dev.data = NULL;
    CUDA_OR_DIE(cudaMalloc(&t->dev.data, t->bytes));
}

static void twin_free(twin *t) {
    if (t->host.data == NULL) return;
    free(t->host.data);
    CUDA_OR_DIE(cudaFree(t->dev.data));
    memset(t, 0, sizeof *t);
}

static double elem_get(const void *base, ax_dtype dt, int64_t i) {
    switch (dt) {
    case AX_F32: return ((const float *)base)[i];
    case AX_BF16: return ax_bf16_to_f32(((const uint16_t *)base)[i]);
    default: return NAN;
    }
}

static void elem_set(void *base, ax_dtype dt, int64_t i, double value) {
    if (dt == AX_F32)
        ((float *)base)[i] = (float)value;
    else
        ((uint16_t *)base)[i] = ax_f32_to_bf16((float)value);
}

static int64_t twin_numel(const twin *t) { return (int64_t)(t->bytes / dtype_bytes(t->host.dtype)); }

/* Uniform in [lo, hi) on both sides. */
static void twin_fill(twin *t, double lo, double hi) {
    for (int64_t i = 0; i < twin_numel(t); i++) elem_set(t->host.data, t->host.dtype, i, th_uniform(lo, hi));
    CUDA_OR_DIE(cudaMemcpyAsync(t->dev.data, t->host.data, t->bytes, cudaMemcpyHostToDevice, g_stream));
    CUDA_OR_DIE(cudaStreamSynchronize(g_stream));
}

/* NaN bytes on the device, so an element the graph does not write shows up. */
static void twin_poison(twin *t) {
    CUDA_OR_DIE(cudaMemsetAsync(t->dev.data, 0xFF, t->bytes, g_stream));
    CUDA_OR_DIE(cudaStreamSynchronize(g_stream));
}

static void *twin_download(const twin *t) {
    void *buf = host_alloc(t->bytes);
    CUDA_OR_DIE(cudaMemcpyAsync(buf, t->dev.data, t->bytes, cudaMemcpyDeviceToHost, g_stream));
    CUDA_OR_DIE(cudaStreamSynchronize(g_stream));
    return buf;
}

/* max |device - cpu| <= tol * max(max |cpu|, floor); NaN fails. lse rows of -inf must match. */
static void compare_to_cpu(const char *what, const char *desc, const twin *t, const void *got, double tol) {
    double max_ref = 0.0, max_err = 0.0;
    for (int64_t i = 0; i < twin_numel(t); i++) {
        const double ref = elem_get(t->host.data, t->host.dtype, i), val = elem_get(got, t->host.dtype, i);
        double err;
        if (isinf(ref) && isinf(val) && (ref < 0) == (val < 0))
            err = 0.0;
        else
            err = isnan(val) || isnan(ref) || isinf(val) || isinf(ref) ? INFINITY : fabs(val - ref);
        if (isfinite(ref) && fabs(ref) > max_ref) max_ref = fabs(ref);
        if (err > max_err) max_err = err;
    }
    const double bound = tol * (max_ref > 1e-2 ? max_ref : 1e-2);
    th_checks++;
    if (!(max_err <= bound))
        TH_FAIL("%s [%s]: graph vs cpu: max |err| = %g > %g (tol %g of max |cpu| = %g)", what, desc, max_err, bound,
                tol, max_ref);
}

typedef struct graph_case {
    int64_t B, N, S, H, D;
    ax_dtype dtype; /* activations and biases */
} graph_case;

enum { T_Q, T_K, T_V, T_DOUT, T_MASK, T_PAIR, T_OUT, T_LSE, T_DQ, T_DK, T_DV, T_DMASK, T_DPAIR, T_COUNT };
static const char *const k_names[T_COUNT] = {"q",   "k",  "v",  "dout", "bias_mask",  "bias_pair", "out",
                                             "lse", "dq", "dk", "dv",   "dbias_mask", "dbias_pair"};
enum { FIRST_OUTPUT = T_OUT };

/* The tensor i of the CPU (host) or CUDA (dev) side. */
#define SIDE(t, i, on_device) ((on_device) ? &(t)[i].dev : &(t)[i].host)

static ax_status run_forward(ax_context *ctx, twin *t, int dev) {
    return ax_evoformer_attention_forward(ctx, SIDE(t, T_Q, dev), SIDE(t, T_K, dev), SIDE(t, T_V, dev),
                                          SIDE(t, T_MASK, dev), SIDE(t, T_PAIR, dev), SIDE(t, T_OUT, dev),
                                          SIDE(t, T_LSE, dev));
}

static ax_status run_backward(ax_context *ctx, twin *t, int dev) {
    return ax_evoformer_attention_backward(ctx, SIDE(t, T_Q, dev), SIDE(t, T_K, dev), SIDE(t, T_V, dev),
                                           SIDE(t, T_MASK, dev), SIDE(t, T_PAIR, dev), SIDE(t, T_OUT, dev),
                                           SIDE(t, T_LSE, dev), SIDE(t, T_DOUT, dev), SIDE(t, T_DQ, dev),
                                           SIDE(t, T_DK, dev), SIDE(t, T_DV, dev), SIDE(t, T_DMASK, dev),
                                           SIDE(t, T_DPAIR, dev));
}

static void run_case(const graph_case *c) {
    char desc[128];
    snprintf(desc, sizeof desc, "B=%lld N=%lld S=%lld H=%lld D=%lld %s", (long long)c->B, (long long)c->N,
             (long long)c->S, (long long)c->H, (long long)c->D, ax_dtype_name(c->dtype));
    const int failures_before = th_failures;
    const double tol = c->dtype == AX_F32 ? 1e-4 : 2e-2;

    twin t[T_COUNT];
    const int64_t act[5] = {c->B, c->N, c->S, c->H, c->D};
    const int64_t mask[5] = {c->B, c->N, 1, 1, c->S};
    const int64_t pair[5] = {c->B, 1, c->H, c->S, c->S};
    const int64_t lse[4] = {c->B, c->N, c->H, c->S};
    for (int i = 0; i < T_COUNT; i++) {
        if (i == T_MASK || i == T_DMASK)
            twin_alloc(&t[i], c->dtype, 5, mask);
        else if (i == T_PAIR || i == T_DPAIR)
            twin_alloc(&t[i], c->dtype, 5, pair);
        else if (i == T_LSE)
            twin_alloc(&t[i], AX_F32, 4, lse);
        else
            twin_alloc(&t[i], c->dtype, 5, act);
    }
    twin_fill(&t[T_Q], -1.5, 1.5);
    twin_fill(&t[T_K], -1.5, 1.5);
    twin_fill(&t[T_V], -1.0, 1.0);
    twin_fill(&t[T_DOUT], -1.0, 1.0);
    twin_fill(&t[T_MASK], -1.0, 1.0);
    twin_fill(&t[T_PAIR], -1.0, 1.0);

    /* The reference, on the CPU. */
    CHECK_OK(run_forward(g_cpu, t, 0));
    CHECK_OK(run_backward(g_cpu, t, 0));

    /* Eagerly, first: this also sets up what an op does only once (kernel attributes, the pool's
     * first blocks), as a real program's warm-up step would before capturing. */
    ax_context_workspace_peak_reset(g_cuda);
    for (int i = FIRST_OUTPUT; i < T_COUNT; i++) twin_poison(&t[i]);
    CHECK_OK(run_forward(g_cuda, t, 1));
    CHECK_OK(run_backward(g_cuda, t, 1));
    CUDA_OR_DIE(cudaStreamSynchronize(g_stream));
    CUDA_OR_DIE(cudaGetLastError());
    void *eager[T_COUNT] = {NULL};
    for (int i = FIRST_OUTPUT; i < T_COUNT; i++) eager[i] = twin_download(&t[i]);
    /* The backward's delta, row references and partial sums live in device workspace. */
    int64_t host_peak = -1, device_peak = -1;
    ax_context_workspace_peaks(g_cuda, &host_peak, &device_peak);
    th_checks++;
    if (!(ax_context_workspace_peak(g_cuda) > 0 && device_peak > 0))
        TH_FAIL("[%s]: workspace peak %lld (device %lld) after the backward; expected device bytes counted", desc,
                (long long)ax_context_workspace_peak(g_cuda), (long long)device_peak);

    /* Captured. Global mode: any host-synchronising or otherwise unsafe call, from any thread,
     * invalidates the capture and makes cudaStreamEndCapture fail. */
    for (int i = FIRST_OUTPUT; i < T_COUNT; i++) twin_poison(&t[i]);
    cudaGraph_t graph = NULL;
    cudaGraphExec_t exec = NULL;
    CUDA_OR_DIE(cudaStreamBeginCapture(g_stream, cudaStreamCaptureModeGlobal));
    const ax_status fwd = run_forward(g_cuda, t, 1);
    char fwd_msg[512]; /* the backward may overwrite the thread's last error */
    snprintf(fwd_msg, sizeof fwd_msg, "%s", fwd == AX_OK ? "" : ax_last_error());
    const ax_status bwd = run_backward(g_cuda, t, 1);
    char bwd_msg[512];
    snprintf(bwd_msg, sizeof bwd_msg, "%s", bwd == AX_OK ? "" : ax_last_error());
    const cudaError_t end = cudaStreamEndCapture(g_stream, &graph);
    th_checks += 3;
    if (fwd != AX_OK) TH_FAIL("[%s]: forward under capture: %s: %s", desc, ax_status_string(fwd), fwd_msg);
    if (bwd != AX_OK) TH_FAIL("[%s]: backward under capture: %s: %s", desc, ax_status_string(bwd), bwd_msg);
    if (end != cudaSuccess) {
        TH_FAIL("[%s]: cudaStreamEndCapture: %s (%s): an op made a call that stream capture forbids", desc,
                cudaGetErrorString(end), cudaGetErrorName(end));
        cudaGetLastError();
    }
    if (fwd == AX_OK && bwd == AX_OK && end == cudaSuccess) {
        CUDA_OR_DIE(cudaGraphInstantiateWithFlags(&exec, graph, 0));
        /* Twice: replaying the graph (and its memory nodes) must give the same bits each time. */
        for (int launch = 0; launch < 2; launch++) {
            for (int i = FIRST_OUTPUT; i < T_COUNT; i++) twin_poison(&t[i]);
            CUDA_OR_DIE(cudaGraphLaunch(exec, g_stream));
            CUDA_OR_DIE(cudaStreamSynchronize(g_stream));
            for (int i = FIRST_OUTPUT; i < T_COUNT; i++) {
                void *got = twin_download(&t[i]);
                th_checks++;
                if (memcmp(got, eager[i], t[i].bytes) != 0)
                    TH_FAIL("%s [%s]: graph launch %d differs bitwise from the eager run", k_names[i], desc,
                            launch + 1);
                if (launch == 0) compare_to_cpu(k_names[i], desc, &t[i], got, i == T_LSE ? 1e-3 : tol);
                free(got);
            }
        }
        CUDA_OR_DIE(cudaGraphExecDestroy(exec));
    }
    if (graph != NULL) CUDA_OR_DIE(cudaGraphDestroy(graph));

    printf("  %s %s\n", th_failures == failures_before ? "ok  " : "FAIL", desc);
    for (int i = 0; i < T_COUNT; i++) {
        free(eager[i]);
        twin_free(&t[i]);
    }
}

static void test_graph_capture(void) {
    static const graph_case cases[] = {
        {1, 3, 70, 2, 40, AX_F32},  /* SIMT kernels; D not a multiple of 16 */
        {1, 3, 70, 2, 32, AX_BF16}, /* tensor cores on sm_80+, the pair-bias sum split across blocks */
    };
    th_seed(20260113);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i]);
}

/* ax_gemm under capture: a context's first GEMM creates the cuBLAS handle (an allocation capture
 * forbids), so it is refused with a message saying so and leaves the capture valid (it had failed
 * the whole capture); after one eager GEMM, a captured one replays to the eager result bit for bit. */
static void test_gemm_capture(void) {
    enum { M = 48, N = 40, K = 72 };
    cudaStream_t stream;
    CUDA_OR_DIE(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.device.type = AX_CUDA;
    cfg.cuda_stream = stream;
    ax_context *ctx = NULL;
    CHECK_OK(ax_context_create(&ctx, &cfg));
    const int64_t sa[2] = {M, K}, sb[2] = {K, N}, sc[2] = {M, N};
    float *ha = host_alloc(sizeof(float) * M * K), *hb = host_alloc(sizeof(float) * K * N);
    for (int64_t i = 0; i < M * K; i++) ha[i] = (float)th_uniform(-1.0, 1.0);
    for (int64_t i = 0; i < K * N; i++) hb[i] = (float)th_uniform(-1.0, 1.0);
    void *da = NULL, *db = NULL, *dc = NULL;
    CUDA_OR_DIE(cudaMalloc(&da, sizeof(float) * M * K));
    CUDA_OR_DIE(cudaMalloc(&db, sizeof(float) * K * N));
    CUDA_OR_DIE(cudaMalloc(&dc, sizeof(float) * M * N));
    CUDA_OR_DIE(cudaMemcpy(da, ha, sizeof(float) * M * K, cudaMemcpyHostToDevice));
    CUDA_OR_DIE(cudaMemcpy(db, hb, sizeof(float) * K * N, cudaMemcpyHostToDevice));
    ax_tensor a, b, c;
    ax_tensor_contiguous(&a, da, AX_F32, 2, sa);
    ax_tensor_contiguous(&b, db, AX_F32, 2, sb);
    ax_tensor_contiguous(&c, dc, AX_F32, 2, sc);
    a.device = b.device = c.device = cfg.device;

    cudaGraph_t graph = NULL;
    CUDA_OR_DIE(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
    const ax_status first = ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a, &b, 0.0f, &c);
    CHECK_STATUS(first, AX_ERR_UNSUPPORTED);
    CHECK_CONTAINS(ax_last_error(), "before capturing");
    th_checks++;
    if (cudaStreamEndCapture(stream, &graph) != cudaSuccess) TH_FAIL("the refused first GEMM broke the capture");
    cudaGetLastError();
    if (graph != NULL) CUDA_OR_DIE(cudaGraphDestroy(graph));
    graph = NULL;

    float *eager = host_alloc(sizeof(float) * M * N), *replay = host_alloc(sizeof(float) * M * N);
    CHECK_OK(ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a, &b, 0.0f, &c));
    CUDA_OR_DIE(cudaStreamSynchronize(stream));
    CUDA_OR_DIE(cudaMemcpy(eager, dc, sizeof(float) * M * N, cudaMemcpyDeviceToHost));
    for (int64_t i = 0; i < M; i++) /* the eager result against float64 */
        for (int64_t j = 0; j < N; j++) {
            double ref = 0.0;
            for (int64_t k = 0; k < K; k++) ref += (double)ha[i * K + k] * (double)hb[k * N + j];
            th_checks++;
            if (fabs(eager[i * N + j] - ref) > 1e-4 * (1.0 + fabs(ref)))
                TH_FAIL("gemm c[%lld, %lld] = %g, float64 %g", (long long)i, (long long)j,
                        (double)eager[i * N + j], ref);
        }
    CUDA_OR_DIE(cudaMemsetAsync(dc, 0xFF, sizeof(float) * M * N, stream));
    CUDA_OR_DIE(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
    const ax_status captured = ax_gemm(ctx, AX_NO_TRANS, AX_NO_TRANS, 1.0f, &a, &b, 0.0f, &c);
    const cudaError_t end = cudaStreamEndCapture(stream, &graph);
    CHECK_OK(captured);
    th_checks++;
    if (end != cudaSuccess) TH_FAIL("cudaStreamEndCapture after a GEMM: %s", cudaGetErrorString(end));
    if (captured == AX_OK && end == cudaSuccess) {
        cudaGraphExec_t exec = NULL;
        CUDA_OR_DIE(cudaGraphInstantiateWithFlags(&exec, graph, 0));
        CUDA_OR_DIE(cudaGraphLaunch(exec, stream));
        CUDA_OR_DIE(cudaStreamSynchronize(stream));
        CUDA_OR_DIE(cudaMemcpy(replay, dc, sizeof(float) * M * N, cudaMemcpyDeviceToHost));
        th_checks++;
        if (memcmp(replay, eager, sizeof(float) * M * N) != 0) TH_FAIL("the captured GEMM differs from the eager one");
        CUDA_OR_DIE(cudaGraphExecDestroy(exec));
    }
    if (graph != NULL) CUDA_OR_DIE(cudaGraphDestroy(graph));
    ax_context_destroy(ctx);
    CUDA_OR_DIE(cudaFree(da));
    CUDA_OR_DIE(cudaFree(db));
    CUDA_OR_DIE(cudaFree(dc));
    CUDA_OR_DIE(cudaStreamDestroy(stream));
    free(ha);
    free(hb);
    free(eager);
    free(replay);
}

int main(void) {
    if (ax_cuda_device_count() == 0) {
        printf("SKIP: no CUDA device (test_cuda_graph needs a GPU)\n");
        return 77;
    }
    char name[256];
    int64_t memory = 0;
    if (ax_cuda_device_info(0, name, sizeof name, &memory) == AX_OK)
        printf("device 0: %s, %.1f GiB\n", name, (double)memory / (1024.0 * 1024.0 * 1024.0));

    /* Capture needs a stream of our own: the legacy default stream cannot be captured. */
    CUDA_OR_DIE(cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking));
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    cfg.device.type = AX_CUDA;
    cfg.device.id = 0;
    cfg.cuda_stream = g_stream;
    if (ax_context_create(&g_cuda, &cfg) != AX_OK) {
        fprintf(stderr, "FATAL: CUDA context: %s\n", ax_last_error());
        return 1;
    }
    if (ax_context_create(&g_cpu, NULL) != AX_OK) {
        fprintf(stderr, "FATAL: CPU context: %s\n", ax_last_error());
        return 1;
    }

    RUN(test_graph_capture);
    RUN(test_gemm_capture);

    ax_context_destroy(g_cuda);
    ax_context_destroy(g_cpu);
    CUDA_OR_DIE(cudaStreamDestroy(g_stream));
    return th_finish();
}

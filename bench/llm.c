/*
 * llm.c — end-to-end LLM inference speed through the public llm.h API, measured the way llama.cpp's
 * llama-bench measures it so bench/llm_vs_llamacpp.sh can put the two side by side:
 *
 *   prefill (pp512): ax_llm_session_eval of 512 tokens on an empty cache, logits of the last only;
 *   decode (tg128):  128 evals of one token each on an empty cache, each token the greedy choice
 *                    (ax_llm_session_sample, settings NULL) of the previous logits;
 *
 * and, in the same run with the same thread count, a memory-bandwidth line: the median time of an
 * OpenMP streaming read (a sum as 64-bit words) of a 512 MiB buffer, and the decode ceiling it
 * implies, bandwidth / bytes read per decoded token (every weight tensor of the file, counting the
 * embedding table only when it is also the LM head; an untied embedding is read one row per token);
 * and a compute line for the prefill: OpenBLAS's fp32 SGEMM rate (1024^3, median) with the same
 * threads, and the prefill rate it implies, that over the matrix FLOPs per token (2 x the matrix
 * weights a token multiplies: attention projections, feed-forward (the used experts), LM head;
 * attention's own q.k and p.v, which grow with the position, are left out). The quantized kernels
 * multiply int8 (VNNI/AMX) and may pass an fp32 rate.
 *
 *   bench_llm --model F [--device cpu|cuda] [--threads T] [--repeats R] [--prompt N] [--gen N] [--pack]
 *             [--json]
 *
 * --device cuda loads the model on CUDA device 0 (ax_llm_model_config.device: weights uploaded once,
 * the forward on the GPU; each eval returns its logits to the host, so the host timer around it times
 * finished work) and replaces the streaming read by the card's device-to-device copy bandwidth
 * (bytes read plus bytes written per second of a 512 MiB cudaMemcpy, median of repeats), the decode
 * ceiling being that over the bytes read per token. The header names the file's blocks (layers): the
 * GPU check runs a SmolLM2 file cut to a few blocks, where the LM head dominates the bytes per token,
 * and says when those bytes fit in the card's L2 (the ceiling then understates what can be reached).
 * Without CUDA (build or device) it prints why and exits with 77.
 *
 * --pack loads the model with pack_weights = 1 (on the avx2 and avx512 paths its q4_0 / q4_1
 * matrices copied into ax_qweight_pack's layout), for comparing against the default (every matrix
 * read from the mapped file in GGUF order).
 * The prompt is pseudo-random token ids (fixed seed), as llama-bench uses; the cache is emptied with
 * ax_llm_session_rewind(0) between samples (the session is made once, outside the timing). One
 * warm-up prefill and decode precede the R samples; every number is a median over R. --json prints
 * one JSON object instead of the table. Never asserts timings.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "axial/gguf.h"
#include "axial/llm.h"
#include "bench_cuda.h"
#include "bench_util.h"

#define LLM_BENCH_STREAM_BYTES ((int64_t)512 << 20)

typedef struct llm_bench_args {
    const char *model_path;
    int threads;
    int repeats;
    int n_prompt;
    int n_gen;
    int json;
    int pack;
    int cuda; /* --device cuda */
} llm_bench_args;

/* Bytes one decoded token reads: every tensor of the file, except the embedding table when a separate
 * LM head exists (then only one of its rows is read), and of a MoE file's expert tensors (names with
 * "_exps", E experts outermost) only the n_used / n_expert share a token is routed to. Returns -1 when
 * the file cannot be read. */
static int64_t llm_bench_bytes_per_token(const char *path, int32_t n_expert, int32_t n_used,
                                         int64_t *file_weight_bytes) {
    ax_gguf *g = NULL;
    if (ax_gguf_open(path, &g) != AX_OK) return -1;
    const int has_output = ax_gguf_find_tensor(g, "output.weight") >= 0;
    int64_t all = 0, per_token = 0;
    for (int64_t i = 0; i < ax_gguf_tensor_count(g); i++) {
        ax_gguf_tensor_info t;
        if (ax_gguf_tensor_info_get(g, i, &t) != AX_OK) {
            ax_gguf_close(g);
            return -1;
        }
        all += (int64_t)t.bytes;
        static const char embd[] = "token_embd.weight";
        if (has_output && t.name.len == sizeof embd - 1 && memcmp(t.name.data, embd, sizeof embd - 1) == 0) continue;
        int experts = 0;
        for (size_t c = 0; n_expert > 0 && c + 5 <= (size_t)t.name.len; c++)
            experts |= memcmp(t.name.data + c, "_exps", 5) == 0;
        per_token += experts ? (int64_t)t.bytes / n_expert * n_used : (int64_t)t.bytes;
    }
    ax_gguf_close(g);
    *file_weight_bytes = all;
    return per_token;
}

/* Median seconds of one streaming read of `n_words` words with `threads` threads. */
static double llm_bench_stream_seconds(const uint64_t *words, int64_t n_words, int threads, int repeats) {
    double *t = malloc((size_t)repeats * sizeof(double));
    if (t == NULL) return -1.0;
    volatile uint64_t sink = 0;
    for (int r = -2; r < repeats; r++) {
        const double t0 = bench_now();
        sink += bench_stream_sum(words, n_words, threads);
        const double dt = bench_now() - t0;
        if (r >= 0) t[r] = dt;
    }
    (void)sink;
    const double med = bench_median(t, repeats);
    free(t);
    return med;
}

/* Seconds of one prefill of `prompt` on an empty cache. */
static double llm_bench_prefill(ax_llm_session *s, const int32_t *prompt, int n) {
    if (ax_llm_session_rewind(s, 0) != AX_OK) return -1.0;
    const double t0 = bench_now();
    if (ax_llm_session_eval(s, prompt, n, 0) != AX_OK) return -1.0;
    return bench_now() - t0;
}

/* Seconds of n_gen single-token evals on an empty cache, each token greedy from the last logits. */
static double llm_bench_decode(ax_llm_session *s, int32_t first, int n_gen) {
    if (ax_llm_session_rewind(s, 0) != AX_OK) return -1.0;
    int32_t token = first;
    const double t0 = bench_now();
    for (int i = 0; i < n_gen; i++) {
        if (ax_llm_session_eval(s, &token, 1, 0) != AX_OK) return -1.0;
        float prob;
        if (ax_llm_session_sample(s, NULL, 0, &token, &prob) != AX_OK) return -1.0;
    }
    return bench_now() - t0;
}

static int llm_bench_parse(int argc, char **argv, llm_bench_args *a) {
    for (int i = 1; i < argc; i++) {
        const int has_value = i + 1 < argc;
        if (strcmp(argv[i], "--model") == 0 && has_value) a->model_path = argv[++i];
        else if (strcmp(argv[i], "--threads") == 0 && has_value) a->threads = atoi(argv[++i]);
        else if (strcmp(argv[i], "--repeats") == 0 && has_value) a->repeats = atoi(argv[++i]);
        else if (strcmp(argv[i], "--prompt") == 0 && has_value) a->n_prompt = atoi(argv[++i]);
        else if (strcmp(argv[i], "--gen") == 0 && has_value) a->n_gen = atoi(argv[++i]);
        else if (strcmp(argv[i], "--json") == 0) a->json = 1;
        else if (strcmp(argv[i], "--pack") == 0) a->pack = 1;
        else if (strcmp(argv[i], "--device") == 0 && has_value) {
            const char *d = argv[++i];
            if (strcmp(d, "cuda") == 0) a->cuda = 1;
            else if (strcmp(d, "cpu") != 0) return -1;
        } else return -1;
    }
    if (a->model_path == NULL || a->n_prompt < 1 || a->n_gen < 1) return -1;
    if (a->repeats < 1) a->repeats = 1;
#ifdef _OPENMP
    if (a->threads <= 0) a->threads = omp_get_num_procs();
#endif
    if (a->threads <= 0) a->threads = 1;
    return 0;
}

typedef struct llm_bench_result {
    double prefill_s[3]; /* median, min, max of R samples */
    double decode_s[3];
    double stream_s;
    double sgemm_gflops; /* CPU: OpenBLAS's fp32 rate, the prefill baseline; 0 on CUDA */
} llm_bench_result;

/* Matrix FLOPs per token of the forward: 2 x the weights of every projection a token goes through
 * (q, k, v, o; gate, up, down of the experts it uses; the LM head). */
static double llm_bench_flops_per_token(const ax_llm_model_info *info) {
    const double E = info->n_embd, F = info->n_ff, L = info->n_layer;
    const double kv = (double)info->n_head_kv * info->head_dim, q = (double)info->n_head * info->head_dim;
    const double experts = info->n_expert > 0 ? info->n_expert_used : 1;
    return 2.0 * (L * (E * q + 2.0 * E * kv + q * E + experts * 3.0 * E * F) + (double)info->n_vocab * E);
}

static void llm_bench_stats(double *t, int n, double out[3]) {
    double lo = t[0], hi = t[0];
    for (int i = 1; i < n; i++) {
        if (t[i] < lo) lo = t[i];
        if (t[i] > hi) hi = t[i];
    }
    out[0] = bench_median(t, n);
    out[1] = lo;
    out[2] = hi;
}

static int llm_bench_run(const llm_bench_args *a, ax_llm_model *model, const ax_llm_model_info *info,
                         llm_bench_result *res) {
    ax_llm_session_config scfg = AX_LLM_SESSION_CONFIG_INIT;
    scfg.n_ctx = a->n_prompt > a->n_gen ? a->n_prompt : a->n_gen;
    scfg.n_batch = a->n_prompt;
    ax_llm_session *s = NULL;
    int32_t *prompt = malloc((size_t)a->n_prompt * sizeof(int32_t));
    double *t = malloc((size_t)a->repeats * sizeof(double));
    int rc = -1;
    if (prompt == NULL || t == NULL) goto done;
    if (ax_llm_session_create(model, &scfg, &s) != AX_OK) goto done;
    uint64_t state = 20260101;
    for (int i = 0; i < a->n_prompt; i++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        prompt[i] = (int32_t)((state >> 33) % (uint64_t)info->n_vocab);
    }
    const int32_t first = info->bos_id >= 0 ? info->bos_id : prompt[0];
    /* Warm-up: page in the mapped weights, grow every workspace to its size. */
    if (llm_bench_prefill(s, prompt, a->n_prompt) < 0 || llm_bench_decode(s, first, a->n_gen) < 0) goto done;
    for (int r = 0; r < a->repeats; r++)
        if ((t[r] = llm_bench_prefill(s, prompt, a->n_prompt)) < 0) goto done;
    llm_bench_stats(t, a->repeats, res->prefill_s);
    for (int r = 0; r < a->repeats; r++)
        if ((t[r] = llm_bench_decode(s, first, a->n_gen)) < 0) goto done;
    llm_bench_stats(t, a->repeats, res->decode_s);
    rc = 0;
done:
    ax_llm_session_free(s);
    free(prompt);
    free(t);
    return rc;
}

static double llm_bench_bandwidth(int threads, int repeats) {
    const int64_t n_words = LLM_BENCH_STREAM_BYTES / (int64_t)sizeof(uint64_t);
    uint64_t *words = malloc((size_t)LLM_BENCH_STREAM_BYTES);
    if (words == NULL) return -1.0;
    /* First touch with the reading threads, so pages land where they are read (NUMA). */
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < n_words; i++) words[i] = (uint64_t)i;
    const double s = llm_bench_stream_seconds(words, n_words, threads, repeats < 5 ? 5 : repeats);
    free(words);
    return s;
}

/* Prints the result table (or the JSON object). `bw`: bytes per second of the device copy (CUDA) or of
 * the streaming read (CPU). */
static void llm_bench_print(const llm_bench_args *a, const ax_llm_model_info *info, const llm_bench_result *res,
                            const bench_cuda *g, double bw, int64_t bytes_per_token, int64_t file_weight_bytes) {
    const double pp = a->n_prompt / res->prefill_s[0], tg = a->n_gen / res->decode_s[0];
    const double limit = bw / (double)bytes_per_token;
    if (a->json) {
        printf("{\"model\": \"%s\", \"name\": \"%s\", \"device\": \"%s\", \"n_layer\": %d, \"threads\": %d, "
               "\"repeats\": %d, \"n_prompt\": %d, "
               "\"n_gen\": %d, \"prefill_tok_s\": %.3f, \"prefill_tok_s_min\": %.3f, \"prefill_tok_s_max\": %.3f, "
               "\"decode_tok_s\": %.3f, \"decode_tok_s_min\": %.3f, \"decode_tok_s_max\": %.3f, "
               "\"stream_gb_s\": %.3f, \"bandwidth\": \"%s\", \"bytes_per_token\": %lld, \"weight_bytes\": %lld, "
               "\"decode_limit_tok_s\": %.3f, \"sgemm_gflops\": %.3f, \"flops_per_token\": %.0f}\n",
               a->model_path, info->name, a->cuda ? "cuda" : "cpu", info->n_layer, a->threads, a->repeats,
               a->n_prompt, a->n_gen, pp, a->n_prompt / res->prefill_s[2], a->n_prompt / res->prefill_s[1], tg,
               a->n_gen / res->decode_s[2], a->n_gen / res->decode_s[1], bw * 1e-9,
               a->cuda ? "device copy" : "streaming read", (long long)bytes_per_token, (long long)info->weight_bytes,
               limit, res->sgemm_gflops, llm_bench_flops_per_token(info));
        return;
    }
    if (a->cuda)
        printf("Axial LLM inference: %s (%s) on %s, medians of %d samples after a warm-up\n", info->name,
               a->model_path, g->name, a->repeats);
    else
        printf("Axial LLM inference: %s (%s), %d threads, medians of %d samples after a warm-up\n", info->name,
               a->model_path, a->threads, a->repeats);
    printf("model: %d blocks, n_embd %d, n_ff %d, heads %d/%d, vocab %d; %.2f MB of weights read per token\n",
           info->n_layer, info->n_embd, info->n_ff, info->n_head, info->n_head_kv, info->n_vocab,
           (double)bytes_per_token * 1e-6);
    printf("%-26s %12s %12s %12s\n", "test", "tok/s", "min", "max");
    printf("pp%-24d %12.1f %12.1f %12.1f\n", a->n_prompt, pp, a->n_prompt / res->prefill_s[2],
           a->n_prompt / res->prefill_s[1]);
    printf("tg%-24d %12.1f %12.1f %12.1f\n", a->n_gen, tg, a->n_gen / res->decode_s[2], a->n_gen / res->decode_s[1]);
    if (a->cuda)
        printf("\nmemory: device-to-device copy of %lld MiB on %s: %.1f GB/s (read + write, median)\n",
               (long long)(LLM_BENCH_STREAM_BYTES >> 20), g->name, bw * 1e-9);
    else
        printf("\nmemory: streaming read of %lld MiB with %d threads: %.1f GB/s (median)\n",
               (long long)(LLM_BENCH_STREAM_BYTES >> 20), a->threads, bw * 1e-9);
    printf("decode limit = %.1f GB/s / %.1f MB read per token = %.1f tok/s; tg%d reaches %.0f%% of it\n", bw * 1e-9,
           (double)bytes_per_token * 1e-6, limit, a->n_gen, 100.0 * tg / limit);
    if (a->cuda && bytes_per_token <= g->l2_bytes)
        printf("note: the %.1f MB read per token fit in the card's %.0f MiB L2, so decode is not bound by device "
               "memory\nand may pass this limit; per-token launch and host overheads bound it instead\n",
               (double)bytes_per_token * 1e-6, (double)g->l2_bytes / 1048576.0);
    if (res->sgemm_gflops > 0.0) {
        const double flops = llm_bench_flops_per_token(info), pp_limit = res->sgemm_gflops * 1e9 / flops;
        printf("compute: OpenBLAS sgemm 1024^3 with %d threads: %.1f GFLOP/s (median)\n", a->threads,
               res->sgemm_gflops);
        printf("prefill at that rate = %.1f GFLOP/s / %.3f GFLOP of matrices per token = %.1f tok/s; pp%d reaches "
               "%.0f%% of it\n(int8 kernels may pass an fp32 rate)\n",
               res->sgemm_gflops, flops * 1e-9, pp_limit, a->n_prompt, 100.0 * pp / pp_limit);
    }
    printf("(weights in the file: %.1f MB; as loaded: %.1f MB)\n", (double)file_weight_bytes * 1e-6,
           (double)info->weight_bytes * 1e-6);
}

int main(int argc, char **argv) {
    llm_bench_args a = {NULL, 0, 5, 512, 128, 0, 0, 0};
    if (llm_bench_parse(argc, argv, &a) != 0) {
        fprintf(stderr, "usage: bench_llm --model F.gguf [--device cpu|cuda] [--threads T] [--repeats R] [--prompt N] "
                        "[--gen N] [--pack] [--json]\n");
        return 2;
    }
    /* On CUDA, first make sure there is a device (the model then loads there) and hold a context of our
     * own for the copy bandwidth. */
    bench_cuda g;
    memset(&g, 0, sizeof g);
    if (a.cuda) {
        const int rc = bench_cuda_open(&g, "bench_llm --device cuda");
        if (rc != 0) return rc;
    }
    int64_t file_weight_bytes = 0;
    ax_llm_model_config mcfg = AX_LLM_MODEL_CONFIG_INIT;
    mcfg.num_threads = a.threads;
    mcfg.pack_weights = a.pack;
    if (a.cuda) mcfg.device = (ax_device){AX_CUDA, 0};
    ax_llm_model *model = NULL;
    ax_llm_model_info info;
    llm_bench_result res = {{0}, {0}, 0.0, 0.0};
    int64_t bytes_per_token = -1;
    int rc = 1;
    if (ax_llm_model_load(a.model_path, &mcfg, &model) != AX_OK || ax_llm_model_get_info(model, &info) != AX_OK ||
        (bytes_per_token = llm_bench_bytes_per_token(a.model_path, info.n_expert, info.n_expert_used,
                                                     &file_weight_bytes)) < 0 ||
        llm_bench_run(&a, model, &info, &res) != 0) {
        fprintf(stderr, "bench_llm: %s\n", ax_last_error());
        goto done;
    }
    ax_llm_model_free(model);
    model = NULL;
    double bw = 0.0;
    if (a.cuda) {
        const double gbps = bench_cuda_copy_gbps(&g, (size_t)LLM_BENCH_STREAM_BYTES, a.repeats < 5 ? 5 : a.repeats);
        if (gbps <= 0) {
            fprintf(stderr, "bench_llm: device copy bandwidth: %s\n", g.error);
            goto done;
        }
        bw = gbps * 1e9;
    } else {
        /* After the model runs, so the LLM's worker threads are idle and the buffer does not evict them. */
        res.stream_s = llm_bench_bandwidth(a.threads, a.repeats);
        if (res.stream_s <= 0) {
            fprintf(stderr, "bench_llm: no memory for the %lld MiB bandwidth buffer\n",
                    (long long)(LLM_BENCH_STREAM_BYTES >> 20));
            goto done;
        }
        bw = (double)LLM_BENCH_STREAM_BYTES / res.stream_s;
        res.sgemm_gflops = bench_sgemm_gflops(1024, a.threads, a.repeats < 5 ? 5 : a.repeats);
    }
    llm_bench_print(&a, &info, &res, &g, bw, bytes_per_token, file_weight_bytes);
    rc = 0;
done:
    ax_llm_model_free(model);
    bench_cuda_close(&g);
    return rc;
}

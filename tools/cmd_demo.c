/*
 * cmd_demo.c — `axial demo`, the main job: real sample data → feature store → training batch →
 * MSA row attention with pair bias, forward and backward (GPU when present, else CPU), timed next to
 * a naive implementation that materialises the logits → PNG figures.
 *
 * The attention inputs are projections of the batch's msa_feat by fixed pseudo-random weights (an
 * untrained layer) and a distance-decaying pair bias per head: realistic shapes and values, no model.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../bench/naive_attention.h"
#include "axial/evoformer.h"
#include "axial/figures.h"
#include "axial/io.h"
#include "axial/store.h"
#include "cli.h"

#ifndef AXIAL_SAMPLE_DATA
#define AXIAL_SAMPLE_DATA "tests/data"
#endif

enum { HEADS = 8, HEAD_DIM = 32 };

/* OpenBLAS's own thread pool would fight the naive implementation's OpenMP loop over heads. */
void openblas_set_num_threads(int num_threads);

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int demo_fail(const char *what) {
    fprintf(stderr, "axial demo: %s: %s\n", what, ax_last_error());
    return 1;
}

/* Builds the store from the samples: FAM69B_HUMAN from the A3M, 1cbs_A from the mmCIF. */
static int build_store(const char *data, const char *store) {
    char a3m[1024], cif[1024];
    snprintf(a3m, sizeof a3m, "%s/query.a3m", data);
    snprintf(cif, sizeof cif, "%s/1cbs.cif.gz", data);
    ax_msa *msa = NULL;
    ax_structure *st = NULL;
    ax_chain_features *fam = NULL, *cbs = NULL;
    ax_store_writer *w = NULL;
    int rc = 1;
    if (ax_a3m_read(a3m, &msa) != AX_OK || ax_chain_features_create(msa, NULL, 0.0, &fam) != AX_OK) {
        rc = demo_fail("query.a3m");
        goto done;
    }
    if (ax_mmcif_read(cif, &st) != AX_OK || ax_chain_features_create(NULL, &st->chains[0], st->resolution, &cbs) != AX_OK) {
        rc = demo_fail("1cbs.cif.gz");
        goto done;
    }
    if (ax_store_begin(store, 0, &w) != AX_OK || ax_store_add_chain(w, "FAM69B_HUMAN", fam, "query.a3m") != AX_OK ||
        ax_store_add_chain(w, "1cbs_A", cbs, "1cbs.cif.gz:A") != AX_OK) {
        rc = demo_fail("writing the store");
        goto done;
    }
    const ax_status committed = ax_store_commit(w);
    w = NULL;
    if (committed != AX_OK) {
        rc = demo_fail("writing the store");
        goto done;
    }
    printf("feature store   %s: FAM69B_HUMAN (%lld residues, %lld sequences), 1cbs_A (%lld residues, %.1f A)\n", store,
           (long long)fam->seq_length, (long long)fam->num_alignments, (long long)cbs->seq_length, cbs->resolution);
    rc = 0;
done:
    ax_store_abort(w);
    ax_chain_features_destroy(fam);
    ax_chain_features_destroy(cbs);
    ax_msa_destroy(msa);
    ax_structure_destroy(st);
    return rc;
}

/* out[c, l, :] = msa_feat[c, l, :] . W (49 x H*D), W uniform in +-1/sqrt(49) from `seed`. */
static void project(const ax_feature_batch *batch, uint64_t seed, float *out) {
    const int64_t C = batch->num_clusters, L = batch->num_res, F = 49, HD = HEADS * HEAD_DIM;
    float *w = malloc((size_t)(F * HD) * sizeof(float));
    if (w == NULL) return;
    for (int64_t i = 0; i < F * HD; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        w[i] = ((float)((seed >> 40) & 0xffffff) / 16777216.0f * 2.0f - 1.0f) / 7.0f;
    }
    const float *feat = batch->msa_feat.data;
    for (int64_t r = 0; r < C * L; r++)
        for (int64_t o = 0; o < HD; o++) {
            float acc = 0.0f;
            for (int64_t f = 0; f < F; f++) acc += feat[r * F + f] * w[f * HD + o];
            out[r * HD + o] = acc;
        }
    free(w);
}

typedef struct demo_tensors {
    float *host[13];
    void *dev[13];
    ax_tensor t[13];
} demo_tensors;

enum { Q, K, V, MASK, PAIR, OUT, LSE, DOUT, DQ, DK, DV, DMASK, DPAIR, NT };

/* The default of --tolerance: the CUDA tests' fp32 bound on attention outputs (test_evoformer_cuda). */
#define DEMO_DEFAULT_TOLERANCE 1e-4

/* tolerance: the largest max |axial - naive| accepted, as a fraction of max |naive output|. */
static int run_attention(const ax_feature_batch *batch, int use_gpu, double tolerance, const char *attention_png) {
    const int64_t N = batch->num_clusters, S = batch->num_res, H = HEADS, D = HEAD_DIM;
    const int64_t act[5] = {1, N, S, H, D}, mshape[5] = {1, N, 1, 1, S}, pshape[5] = {1, 1, H, S, S};
    const int64_t lshape[4] = {1, N, H, S};
    const int64_t *shapes[NT] = {act, act, act, mshape, pshape, act, lshape, act, act, act, act, mshape, pshape};
    const int32_t ndims[NT] = {5, 5, 5, 5, 5, 5, 4, 5, 5, 5, 5, 5, 5};
    demo_tensors d;
    memset(&d, 0, sizeof d);
    ax_context *ctx = NULL;
    int rc = 1, copy_failed = 0, disagree = 0;
    ax_context_config cfg = AX_CONTEXT_CONFIG_INIT;
    if (use_gpu) cfg.device.type = AX_CUDA;
    if (ax_context_create(&ctx, &cfg) != AX_OK) return demo_fail("context");
    for (int i = 0; i < NT; i++) {
        ax_tensor_contiguous(&d.t[i], NULL, AX_F32, ndims[i], shapes[i]);
        d.host[i] = calloc((size_t)ax_tensor_numel(&d.t[i]), sizeof(float));
        if (d.host[i] == NULL) {
            fprintf(stderr, "axial demo: out of memory\n");
            goto done;
        }
        d.t[i].data = d.host[i];
    }
    project(batch, 11, d.host[Q]);
    project(batch, 22, d.host[K]);
    project(batch, 33, d.host[V]);
    project(batch, 44, d.host[DOUT]);
    /* Pair bias: head h prefers residues within about 2^h positions (a learned-looking pattern). */
    for (int64_t h = 0; h < H; h++)
        for (int64_t i = 0; i < S; i++)
            for (int64_t j = 0; j < S; j++)
                d.host[PAIR][(h * S + i) * S + j] = -fabsf((float)(i - j)) / (float)(1 << h);
    /* Mask bias: no padding in this batch, so every position is visible (0). */
    if (use_gpu)
        for (int i = 0; i < NT; i++) {
            const size_t bytes = (size_t)ax_tensor_numel(&d.t[i]) * sizeof(float);
            if (ax_device_alloc(ctx, bytes, &d.dev[i]) != AX_OK || ax_copy_to_device(ctx, d.dev[i], d.host[i], bytes) != AX_OK) {
                rc = demo_fail("device memory");
                goto done;
            }
            d.t[i].data = d.dev[i];
            d.t[i].device = ax_context_device(ctx);
        }
    double tf[3], tb[3];
    for (int r = -1; r < 3; r++) {
        const double t0 = now_s();
        if (ax_evoformer_attention_forward(ctx, &d.t[Q], &d.t[K], &d.t[V], &d.t[MASK], &d.t[PAIR], &d.t[OUT], &d.t[LSE]) !=
                AX_OK ||
            ax_context_synchronize(ctx) != AX_OK) {
            rc = demo_fail("forward");
            goto done;
        }
        const double t1 = now_s();
        if (ax_evoformer_attention_backward(ctx, &d.t[Q], &d.t[K], &d.t[V], &d.t[MASK], &d.t[PAIR], &d.t[OUT], &d.t[LSE],
                                            &d.t[DOUT], &d.t[DQ], &d.t[DK], &d.t[DV], &d.t[DMASK], &d.t[DPAIR]) != AX_OK ||
            ax_context_synchronize(ctx) != AX_OK) {
            rc = demo_fail("backward");
            goto done;
        }
        const double t2 = now_s();
        if (r >= 0) {
            tf[r] = t1 - t0;
            tb[r] = t2 - t1;
        }
    }
    qsort(tf, 3, sizeof(double), cmp_d);
    qsort(tb, 3, sizeof(double), cmp_d);
    printf("attention       MSA row attention with pair bias, B=1 N=%lld S=%lld H=%lld D=%lld fp32 on %s\n", (long long)N,
           (long long)S, (long long)H, (long long)D, use_gpu ? "GPU" : "CPU");
    printf("  axial         forward %8.2f ms, backward %8.2f ms (median of 3), working memory %.2f MiB\n", tf[1] * 1e3,
           tb[1] * 1e3, (double)ax_context_workspace_peak(ctx) / 1048576.0);

    /* The naive implementation on the CPU, for comparison: it stores the logits and their gradient. */
    const size_t logits = (size_t)(N * H * S * S) * sizeof(float);
    float *probs = malloc(logits), *dprobs = malloc(logits);
    float *nout = malloc((size_t)ax_tensor_numel(&d.t[OUT]) * sizeof(float));
    float *ng[5];
    for (int i = 0; i < 5; i++) ng[i] = malloc((size_t)ax_tensor_numel(&d.t[i < 3 ? DQ : (i == 3 ? DMASK : DPAIR)]) * sizeof(float));
    if (probs && dprobs && nout && ng[0] && ng[1] && ng[2] && ng[3] && ng[4]) {
        openblas_set_num_threads(1);
        const double t0 = now_s();
        naive_forward(1, N, S, H, D, d.host[Q], d.host[K], d.host[V], d.host[MASK], d.host[PAIR], probs, nout);
        const double t1 = now_s();
        naive_backward(1, N, S, H, D, d.host[Q], d.host[K], d.host[V], probs, d.host[DOUT], dprobs, ng[0], ng[1], ng[2],
                       ng[3], ng[4]);
        const double t2 = now_s();
        printf("  naive (CPU)   forward %8.2f ms, backward %8.2f ms (one run),    working memory %.2f MiB\n",
               (t1 - t0) * 1e3, (t2 - t1) * 1e3, 2.0 * (double)logits / 1048576.0);
        /* The two must agree: a cheap end-to-end check of the run. */
        const float *ours = d.host[OUT];
        if (use_gpu && ax_copy_to_host(ctx, d.host[OUT], d.dev[OUT], (size_t)ax_tensor_numel(&d.t[OUT]) * 4) != AX_OK) {
            copy_failed = 1;
        } else {
            double worst = 0.0, scale = 0.0;
            for (int64_t i = 0; i < ax_tensor_numel(&d.t[OUT]); i++) {
                worst = fmax(worst, fabs((double)ours[i] - (double)nout[i]));
                scale = fmax(scale, fabs((double)nout[i]));
            }
            const double bound = tolerance * scale;
            printf("  agreement     max |axial - naive| = %.2e (max |out| %.2e, tolerance %.2e)\n", worst, scale,
                   bound);
            /* Written so that a NaN anywhere (worst or scale NaN) disagrees too. */
            disagree = !(worst <= bound);
            if (disagree)
                fprintf(stderr,
                        "axial demo: the optimised and the naive attention disagree: max |axial - naive| = %.2e, "
                        "above %.2e (--tolerance %g of max |out| %.2e)\n",
                        worst, bound, tolerance, scale);
        }
    } else {
        printf("  naive (CPU)   skipped: cannot allocate %.1f MiB of logits\n", 2.0 * (double)logits / 1048576.0);
    }
    free(probs);
    free(dprobs);
    free(nout);
    for (int i = 0; i < 5; i++) free(ng[i]);
    /* rc is set to 0 only at the end: a failed copy had fallen through to it and exited 0. */
    if (copy_failed) {
        rc = demo_fail("copy back");
        goto done;
    }
    if (disagree) goto done; /* rc is 1; the reason is printed above */

    /* Attention map of head 3 (a band about 8 residues wide, plus what q.k adds) for the query row of
     * the MSA (n = 0), on the host copies. */
    ax_tensor hq = d.t[Q], hk = d.t[K], hp = d.t[PAIR];
    hq.data = d.host[Q];
    hk.data = d.host[K];
    hp.data = d.host[PAIR];
    hq.device = hk.device = hp.device = (ax_device){AX_CPU, 0};
    float *map = malloc((size_t)(S * S) * sizeof(float));
    char title[160];
    snprintf(title, sizeof title, "MSA row attention of the query row, head 3 of %lld", (long long)H);
    /* Positions are numbered as residues of the chain: the crop starts at crop_start. */
    if (map == NULL || ax_attention_probabilities(&hq, &hk, NULL, &hp, 0, 0, 3, map) != AX_OK ||
        ax_png_write_attention_map(attention_png, map, S, title, batch->crop_start + 1) != AX_OK) {
        free(map);
        rc = demo_fail("attention map");
        goto done;
    }
    free(map);
    rc = 0;
done:
    for (int i = 0; i < NT; i++) {
        ax_device_free(ctx, d.dev[i]);
        free(d.host[i]);
    }
    ax_context_destroy(ctx);
    return rc;
}

/* The sample files the demo reads from --data. */
static const char *const DEMO_SAMPLES[] = {"query.a3m", "1cbs.cif.gz"};

static void demo_usage(void) {
    printf("usage: axial demo [--data DIR] [--out DIR] [--device auto|cpu|cuda] [--tolerance T]\n"
           "  Builds a feature store from the sample A3M and mmCIF in DIR (default: the source tree's\n"
           "  tests/data), makes a training batch, runs MSA row attention with pair bias forward and\n"
           "  backward (GPU when present), times it next to a naive implementation, and writes PNGs\n"
           "  to --out (default ./axial-demo, created if missing, after DIR is checked).\n"
           "  Exits 1 when the two attention outputs differ by more than T times the largest output\n"
           "  magnitude (default %g).\n",
           DEMO_DEFAULT_TOLERANCE);
}

int axial_cmd_demo(int argc, char **argv) {
    const char *data = AXIAL_SAMPLE_DATA, *out_dir = "axial-demo", *device = "auto";
    double tolerance = DEMO_DEFAULT_TOLERANCE;
    static const char *const value_options[] = {"--data", "--out", "--device", "--tolerance", NULL};
    if (axial_refuse_repeated_options(argc, argv, "demo", value_options) != 0) return 2;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--data") == 0 && v) data = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && v) out_dir = argv[++i];
        else if (strcmp(argv[i], "--device") == 0 && v) device = argv[++i];
        else if (strcmp(argv[i], "--tolerance") == 0 && v) {
            char *end;
            errno = 0;
            tolerance = strtod(v, &end);
            if (v[0] == '\0' || *end != '\0' || errno != 0 || !(tolerance >= 0.0 && tolerance <= 1e6)) {
                fprintf(stderr, "axial demo: --tolerance '%s': expected a number in [0, 1e6]\n", v);
                return 2;
            }
            i++;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            demo_usage();
            return 0;
        } else {
            fprintf(stderr, "axial demo: unknown or incomplete option '%s'\n", argv[i]);
            return 2;
        }
    }
    if (strcmp(device, "auto") != 0 && strcmp(device, "cpu") != 0 && strcmp(device, "cuda") != 0) {
        fprintf(stderr, "axial demo: --device %s: expected auto, cpu or cuda\n", device);
        return 2;
    }
    /* Every argument is checked before anything is created: a bad --data had left an empty --out. */
    char store[1100], msa_png[1100], dist_png[1100], attn_png[1100];
    /* Longer paths are refused, not cut short (files named "msa_covera" had been written). */
    if (strlen(out_dir) > 1000 || strlen(data) > 1000) {
        fprintf(stderr, "axial demo: --out/--data: paths over 1000 characters are not supported\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof DEMO_SAMPLES / sizeof DEMO_SAMPLES[0]; i++) {
        char sample[1100];
        snprintf(sample, sizeof sample, "%s/%s", data, DEMO_SAMPLES[i]);
        FILE *probe = fopen(sample, "rb");
        if (probe == NULL) {
            fprintf(stderr, "axial demo: --data %s: %s: %s (the directory must hold %s and %s)\n", data, sample,
                    strerror(errno), DEMO_SAMPLES[0], DEMO_SAMPLES[1]);
            return 1;
        }
        fclose(probe);
    }
    const int use_gpu = strcmp(device, "cuda") == 0 || (strcmp(device, "auto") == 0 && ax_cuda_device_count() > 0);
    if (use_gpu) { /* before anything is written: a failure at the attention step had left the store behind */
        ax_context_config probe_cfg = AX_CONTEXT_CONFIG_INIT;
        probe_cfg.device.type = AX_CUDA;
        ax_context *probe_ctx = NULL;
        if (ax_context_create(&probe_ctx, &probe_cfg) != AX_OK) {
            fprintf(stderr, "axial demo: --device cuda: %s\n", ax_last_error());
            return 1;
        }
        ax_context_destroy(probe_ctx);
    }
    if (mkdir(out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "axial demo: --out %s: %s\n", out_dir, strerror(errno));
        return 1;
    }
    snprintf(store, sizeof store, "%s/demo.h5", out_dir);
    snprintf(msa_png, sizeof msa_png, "%s/msa_coverage.png", out_dir);
    snprintf(dist_png, sizeof dist_png, "%s/1cbs_distance_map.png", out_dir);
    snprintf(attn_png, sizeof attn_png, "%s/attention_head3_row0.png", out_dir);

    const double t0 = now_s();
    if (build_store(data, store) != 0) return 1;
    ax_store *s = NULL;
    ax_chain_features *f = NULL;
    ax_feature_batch *batch = NULL;
    int rc = 1;
    if (ax_store_open(store, &s) != AX_OK || ax_store_read_chain(s, "FAM69B_HUMAN", &f) != AX_OK) {
        rc = demo_fail("reading the store back");
        goto done;
    }
    ax_feature_batch_config bcfg = AX_FEATURE_BATCH_CONFIG_INIT;
    bcfg.seed = 1;
    const double tb0 = now_s();
    if (ax_feature_batch_create(f, &bcfg, &batch) != AX_OK) {
        rc = demo_fail("making a batch");
        goto done;
    }
    printf("training batch  crop %lld residues from %lld, %lld MSA clusters, %lld extra rows, msa_feat (%lld, %lld, 49) "
           "in %.2f ms\n",
           (long long)batch->num_res, (long long)f->seq_length, (long long)batch->num_clusters, (long long)batch->num_extra,
           (long long)batch->num_clusters, (long long)batch->num_res, (now_s() - tb0) * 1e3);
    if (run_attention(batch, use_gpu, tolerance, attn_png) != 0) goto done;
    if (axial_plot_chain(store, "FAM69B_HUMAN", "msa", msa_png) != 0 ||
        axial_plot_chain(store, "1cbs_A", "distance", dist_png) != 0)
        goto done;
    printf("figures         %s\n                %s\n                %s\n", msa_png, dist_png, attn_png);
    printf("done in %.1f s\n", now_s() - t0);
    rc = 0;
done:
    ax_feature_batch_destroy(batch);
    ax_chain_features_destroy(f);
    ax_store_close(s);
    return rc;
}

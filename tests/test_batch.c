/*
 * test_batch.c — training batches: shapes and descriptors, reproducibility, the sampling and
 * masking statistics, and every derived feature against an independent recomputation written
 * here (brute-force cluster assignment, profiles, deletion means, msa_feat, target_feat).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "harness.h"

#include "axial/features.h"
#include "axial/io.h"
#include "batch_reference.h"
#include "io/features_batch.h"

#define DATA AXIAL_TEST_DATA

/* Random features: ~25% gaps, deletions mostly small with a few above 256 (the table's end). */
static ax_chain_features *random_features(int64_t length, int64_t rows, int with_structure, uint64_t seed) {
    ax_chain_features *f = NULL;
    if (ax_chain_features_alloc(length, rows, with_structure, &f) != AX_OK) return NULL;
    th_seed(seed);
    for (int64_t i = 0; i < length; i++) {
        f->aatype[i] = (int32_t)(th_rand_u64() % 21);
        f->msa[i] = f->aatype[i];
    }
    for (int64_t e = length; e < rows * length; e++) {
        const uint64_t u = th_rand_u64();
        f->msa[e] = (u % 4 == 0) ? 21 : (int32_t)((u >> 8) % 21);
        const uint64_t d = th_rand_u64() % 100;
        f->deletion_matrix[e] = d < 70 ? 0 : d < 97 ? (int32_t)(d - 69) : (int32_t)(250 + d);
    }
    if (with_structure)
        for (int64_t e = 0; e < length * 37; e++) {
            f->all_atom_mask[e] = (th_rand_u64() & 1) ? 1.0f : 0.0f;
            for (int c = 0; c < 3; c++) f->all_atom_positions[e * 3 + c] = (float)th_uniform(-50, 50);
        }
    return f;
}

static void test_random_features(void) {
    ax_chain_features *f = random_features(100, 300, 1, 7);
    CHECK(f != NULL);
    if (f == NULL) return;
    ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
    cfg.crop_size = 64;
    cfg.max_msa_clusters = 33; /* not a multiple of the 32-centre blocks */
    cfg.max_extra_msa = 100;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        cfg.seed = seed;
        ax_feature_batch *b = NULL;
        CHECK_OK(ax_feature_batch_create(f, &cfg, &b));
        if (b != NULL) verify_batch(f, &cfg, b);
        ax_feature_batch_destroy(b);
    }
    /* Centres beyond one AVX2 group of 128, extra rows capped above R, no crop. */
    cfg.crop_size = 0;
    cfg.max_msa_clusters = 150;
    cfg.max_extra_msa = 5000;
    ax_feature_batch *b = NULL;
    CHECK_OK(ax_feature_batch_create(f, &cfg, &b));
    if (b != NULL) {
        CHECK_INT_EQ(b->crop_start, 0);
        verify_batch(f, &cfg, b);
    }
    ax_feature_batch_destroy(b);
    ax_chain_features_destroy(f);
}

static void test_reproducible(void) {
    ax_chain_features *f = random_features(90, 400, 1, 11);
    if (f == NULL) return;
    ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
    cfg.crop_size = 50;
    cfg.max_msa_clusters = 40;
    cfg.max_extra_msa = 64;
    cfg.seed = 1234;
    ax_feature_batch *a = NULL, *b = NULL, *c = NULL, *portable = NULL;
    CHECK_OK(ax_feature_batch_create(f, &cfg, &a));
    CHECK_OK(ax_feature_batch_create(f, &cfg, &b));
    cfg.seed = 1235;
    CHECK_OK(ax_feature_batch_create(f, &cfg, &c));
    /* The portable assignment kernel gives the same bytes as the vector one. */
    cfg.seed = 1234;
    CHECK_OK(ax_cpu_path_set(AX_CPU_PATH_PORTABLE));
    CHECK_OK(ax_feature_batch_create(f, &cfg, &portable));
    CHECK_OK(ax_cpu_path_set(AX_CPU_PATH_AUTO));
    if (a != NULL && b != NULL && c != NULL && portable != NULL) {
        CHECK(batches_identical(a, b));
        CHECK(!batches_identical(a, c));
        CHECK(memcmp(a->msa_row.data, c->msa_row.data, tensor_bytes(&a->msa_row)) != 0);
        CHECK(memcmp(a->bert_mask.data, c->bert_mask.data, tensor_bytes(&a->bert_mask)) != 0);
        CHECK(batches_identical(a, portable));
    }
    ax_feature_batch_destroy(a);
    ax_feature_batch_destroy(b);
    ax_feature_batch_destroy(c);
    ax_feature_batch_destroy(portable);

    /* The crop start is uniform over [0, Lf - L]: every start appears over many seeds. */
    ax_chain_features *small = random_features(40, 2, 0, 3);
    if (small != NULL) {
        cfg.crop_size = 30;
        int hit[11] = {0};
        for (uint64_t seed = 0; seed < 1000; seed++) {
            cfg.seed = seed;
            ax_feature_batch *x = NULL;
            CHECK_STATUS(ax_feature_batch_create(small, &cfg, &x), AX_OK);
            if (x != NULL && x->crop_start >= 0 && x->crop_start <= 10) hit[x->crop_start]++;
            ax_feature_batch_destroy(x);
        }
        int covered = 0;
        for (int i = 0; i <= 10; i++) covered += hit[i] > 0;
        CHECK_INT_EQ(covered, 11);
    }
    ax_chain_features_destroy(small);
    ax_chain_features_destroy(f);
}

/* The nearest-centre kernels against each other and a naive count, including rows longer than the
 * 255-column flush and centre counts around the 32 and 128 blocks. Rows hold tokens 0..2 and gaps
 * (21); centres hold 0..2 and AX_BATCH_NO_TOKEN (a gap or mask), which must never agree. */
static void test_nearest_kernels(void) {
    th_seed(99);
    const int64_t centre_counts[] = {1, 31, 32, 33, 128, 129, 200};
    const int64_t L = 700;
    for (size_t t = 0; t < sizeof centre_counts / sizeof centre_counts[0]; t++) {
        const int64_t C = centre_counts[t];
        const int64_t stride = (C + 31) / 32 * 32;
        uint8_t *centres = malloc((size_t)(L * stride));
        uint8_t *row = malloc((size_t)L);
        uint32_t *scratch = malloc((size_t)stride * sizeof *scratch);
        memset(centres, AX_BATCH_NO_TOKEN, (size_t)(L * stride));
        /* Few token values make many ties and large counts. */
        for (int64_t i = 0; i < L; i++)
            for (int64_t c = 0; c < C; c++)
                centres[i * stride + c] = th_rand_u64() % 7 == 0 ? AX_BATCH_NO_TOKEN : (uint8_t)(th_rand_u64() % 3);
        int bad = 0;
        for (int trial = 0; trial < 20; trial++) {
            for (int64_t i = 0; i < L; i++) row[i] = th_rand_u64() % 5 == 0 ? 21 : (uint8_t)(th_rand_u64() % 3);
            int64_t best = 0, best_score = -1;
            for (int64_t c = 0; c < C; c++) {
                int64_t score = 0;
                for (int64_t i = 0; i < L; i++) score += row[i] < 21 && centres[i * stride + c] == row[i];
                if (score > best_score) {
                    best_score = score;
                    best = c;
                }
            }
            bad += ax_batch_nearest_portable(centres, C, stride, row, L, scratch) != best;
            bad += (int64_t)scratch[best] != best_score;
            bad += ax_batch_nearest_kernel()(centres, C, stride, row, L, scratch) != best;
            bad += (int64_t)scratch[best] != best_score;
        }
        CHECK_INT_EQ(bad, 0);
        free(centres);
        free(row);
        free(scratch);
    }
}

/* The sparse deletion scan, portable and active kernels, against a plain loop: lengths around the
 * kernels' 8- and 16-wide steps, densities from none to all, and negative values anywhere. */
static void test_sparse_kernels(void) {
    th_seed(123);
    const int64_t lengths[] = {0, 1, 7, 8, 9, 15, 16, 17, 31, 64, 255, 256, 257, 700};
    const int densities[] = {0, 3, 30, 100};
    int bad = 0;
    for (size_t a = 0; a < sizeof lengths / sizeof lengths[0]; a++)
        for (size_t b = 0; b < sizeof densities / sizeof densities[0]; b++)
            for (int neg = 0; neg < 2; neg++) {
                const int64_t n = lengths[a];
                int32_t *d = malloc((size_t)(n + 1) * sizeof *d);
                ax_batch_deletion *want = malloc((size_t)(n + 1) * sizeof *want);
                ax_batch_deletion *got = malloc((size_t)(n + 1) * sizeof *got);
                int64_t expect = 0;
                int expect_neg = 0;
                for (int64_t i = 0; i < n; i++) {
                    d[i] = (int)(th_rand_u64() % 100) < densities[b] ? (int32_t)(1 + th_rand_u64() % 300) : 0;
                    if (neg && n > 0 && i == (int64_t)(th_rand_u64() % (uint64_t)n)) d[i] = -(int32_t)(1 + i % 5);
                }
                for (int64_t i = 0; i < n; i++) {
                    expect_neg |= d[i] < 0;
                    if (d[i] != 0) want[expect++] = (ax_batch_deletion){(int32_t)i, d[i]};
                }
                const ax_batch_sparse_fn kernels[2] = {ax_batch_sparse_portable, ax_batch_sparse_kernel()};
                for (int k = 0; k < 2; k++) {
                    int negative = -1;
                    const int64_t kept = kernels[k](d, n, got, &negative);
                    bad += kept != expect || negative != expect_neg;
                    for (int64_t e = 0; kept == expect && e < kept; e++)
                        bad += got[e].col != want[e].col || got[e].value != want[e].value;
                }
                free(d);
                free(want);
                free(got);
            }
    CHECK_INT_EQ(bad, 0);
}

/* The byte version of the scan (deletions as the feature store keeps them), portable and active,
 * against a plain loop: lengths around the AVX2 kernel's 32-wide step, densities from none to all,
 * values up to 255. */
static void test_sparse_bytes_kernels(void) {
    th_seed(321);
    const int64_t lengths[] = {0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 256, 700};
    const int densities[] = {0, 3, 30, 100};
    int bad = 0;
    for (size_t a = 0; a < sizeof lengths / sizeof lengths[0]; a++)
        for (size_t b = 0; b < sizeof densities / sizeof densities[0]; b++) {
            const int64_t n = lengths[a];
            uint8_t *d = malloc((size_t)n + 1);
            ax_batch_deletion *want = malloc((size_t)(n + 1) * sizeof *want);
            ax_batch_deletion *got = malloc((size_t)(n + 1) * sizeof *got);
            int64_t expect = 0;
            for (int64_t i = 0; i < n; i++)
                d[i] = (int)(th_rand_u64() % 100) < densities[b] ? (uint8_t)(1 + th_rand_u64() % 255) : 0;
            for (int64_t i = 0; i < n; i++)
                if (d[i] != 0) want[expect++] = (ax_batch_deletion){(int32_t)i, d[i]};
            const ax_batch_sparse_bytes_fn kernels[2] = {ax_batch_sparse_bytes_portable, ax_batch_sparse_bytes_kernel()};
            for (int k = 0; k < 2; k++) {
                const int64_t kept = kernels[k](d, n, got);
                bad += kept != expect;
                for (int64_t e = 0; kept == expect && e < kept; e++)
                    bad += got[e].col != want[e].col || got[e].value != want[e].value;
            }
            free(d);
            free(want);
            free(got);
        }
    CHECK_INT_EQ(bad, 0);
}

/* Masking statistics over ~10^5 centre positions. Every row is all X (20) or all gaps (21), half
 * and half, so a column's profile is ~50/50 X/gap and each replacement kind can be told apart:
 *   mask token 22           -> "mask"                  expected 0.70
 *   an amino acid 0..19     -> "uniform"               expected 0.10
 *   the other of X / gap    -> half of "profile"       expected 0.05
 *   unchanged               -> "same" + half "profile" expected 0.15
 * Bounds: 15% +- 1% of positions selected; each kind +- 2% of the selected ones (sigma < 0.4%). */
static void test_masking_statistics(void) {
    const int64_t L = 800, N = 2001;
    ax_chain_features *f = NULL;
    CHECK_OK(ax_chain_features_alloc(L, N, 0, &f));
    if (f == NULL) return;
    for (int64_t r = 0; r < N; r++)
        for (int64_t i = 0; i < L; i++) f->msa[r * L + i] = (r == 0 || r % 2 == 1) ? 20 : 21;
    ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
    cfg.crop_size = 0;
    cfg.seed = 42;
    ax_feature_batch *b = NULL;
    CHECK_OK(ax_feature_batch_create(f, &cfg, &b));
    if (b != NULL) {
        const int64_t positions = b->num_clusters * L;
        CHECK(positions >= 100000);
        const int32_t *msa = b->msa.data, *true_msa = b->true_msa.data;
        const float *bert = b->bert_mask.data;
        int64_t selected = 0, mask = 0, uniform = 0, other = 0, unchanged = 0, unselected_changed = 0;
        for (int64_t e = 0; e < positions; e++) {
            if (bert[e] == 0.0f) {
                unselected_changed += msa[e] != true_msa[e];
                continue;
            }
            selected++;
            if (msa[e] == 22) mask++;
            else if (msa[e] < 20) uniform++;
            else if (msa[e] == true_msa[e]) unchanged++;
            else other++;
        }
        CHECK_INT_EQ(unselected_changed, 0);
        const double frac = (double)selected / (double)positions;
        const double p_mask = (double)mask / (double)selected, p_uniform = (double)uniform / (double)selected;
        const double p_profile = 2.0 * (double)other / (double)selected;
        const double p_same = (double)unchanged / (double)selected - (double)other / (double)selected;
        printf("  selected %.4f of %lld; mask %.4f uniform %.4f profile %.4f same %.4f\n", frac,
               (long long)positions, p_mask, p_uniform, p_profile, p_same);
        CHECK(fabs(frac - 0.15) < 0.01);
        CHECK(fabs(p_mask - 0.70) < 0.02);
        CHECK(fabs(p_uniform - 0.10) < 0.02);
        CHECK(fabs(p_profile - 0.10) < 0.02);
        CHECK(fabs(p_same - 0.10) < 0.02);
        verify_batch(f, &cfg, b);
    }
    ax_feature_batch_destroy(b);

    /* No masking at all: msa == true_msa, bert_mask all zero. */
    cfg.masked_msa_fraction = 0.0f;
    cfg.max_msa_clusters = 16;
    b = NULL;
    CHECK_OK(ax_feature_batch_create(f, &cfg, &b));
    if (b != NULL) {
        CHECK(memcmp(b->msa.data, b->true_msa.data, tensor_bytes(&b->msa)) == 0);
        double sum = 0;
        for (int64_t e = 0; e < 16 * L; e++) sum += ((const float *)b->bert_mask.data)[e];
        CHECK(sum == 0.0);
    }
    ax_feature_batch_destroy(b);
    ax_chain_features_destroy(f);
}

static void test_real_data(void) {
    ax_msa *msa = NULL;
    CHECK_OK(ax_a3m_read(DATA "/query.a3m", &msa));
    ax_chain_features *f = NULL;
    if (msa != NULL) CHECK_OK(ax_chain_features_create(msa, NULL, 0.0, &f));
    ax_msa_destroy(msa);
    if (f != NULL) {
        ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
        cfg.crop_size = 128;
        cfg.max_msa_clusters = 16;
        cfg.max_extra_msa = 20;
        cfg.seed = 5;
        ax_feature_batch *b = NULL;
        CHECK_OK(ax_feature_batch_create(f, &cfg, &b));
        if (b != NULL) {
            CHECK_INT_EQ(b->num_clusters, 16);
            CHECK_INT_EQ(b->num_remaining, 43);
            CHECK_INT_EQ(b->num_extra, 20);
            verify_batch(f, &cfg, b);
        }
        ax_feature_batch_destroy(b);
        /* Defaults: 59 rows all become centres, nothing remains. */
        b = NULL;
        CHECK_OK(ax_feature_batch_create(f, NULL, &b));
        if (b != NULL) {
            const ax_feature_batch_config defaults = AX_FEATURE_BATCH_CONFIG_INIT;
            CHECK_INT_EQ(b->num_res, 256);
            CHECK_INT_EQ(b->num_clusters, 59);
            CHECK_INT_EQ(b->num_extra, 0);
            CHECK(b->extra_msa.data == NULL && b->cluster_assignment.data == NULL);
            verify_batch(f, &defaults, b);
        }
        ax_feature_batch_destroy(b);
    }
    ax_chain_features_destroy(f);

    /* A structure without an alignment: one row, positions cropped with the residues. */
    ax_structure *s = NULL;
    CHECK_OK(ax_mmcif_read(DATA "/1cbs.cif.gz", &s));
    f = NULL;
    if (s != NULL) CHECK_OK(ax_chain_features_create(NULL, &s->chains[0], s->resolution, &f));
    ax_structure_destroy(s);
    if (f != NULL) {
        ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
        cfg.crop_size = 64;
        cfg.seed = 77;
        ax_feature_batch *b = NULL;
        CHECK_OK(ax_feature_batch_create(f, &cfg, &b));
        if (b != NULL) {
            CHECK_INT_EQ(b->num_clusters, 1);
            CHECK_INT_EQ(b->num_remaining, 0);
            verify_batch(f, &cfg, b);
            /* Single centre: its profile is its own (masked) token. */
            const float *profile = b->cluster_profile.data;
            const int32_t *m = b->msa.data;
            int bad = 0;
            for (int64_t i = 0; i < 64; i++) bad += profile[i * 23 + m[i]] != 1.0f;
            CHECK_INT_EQ(bad, 0);
        }
        ax_feature_batch_destroy(b);
    }
    ax_chain_features_destroy(f);
}

static void test_errors(void) {
    ax_chain_features *f = random_features(10, 5, 0, 1);
    if (f == NULL) return;
    ax_feature_batch *b = (ax_feature_batch *)&b;
    ax_feature_batch_config cfg = AX_FEATURE_BATCH_CONFIG_INIT;
    CHECK_STATUS(ax_feature_batch_create(NULL, &cfg, &b), AX_ERR_INVALID_ARGUMENT);
    CHECK(b == NULL);
    CHECK_STATUS(ax_feature_batch_create(f, &cfg, NULL), AX_ERR_INVALID_ARGUMENT);
    cfg.struct_size = 8;
    CHECK_STATUS(ax_feature_batch_create(f, &cfg, &b), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "struct_size");
    cfg = (ax_feature_batch_config)AX_FEATURE_BATCH_CONFIG_INIT;
    cfg.max_msa_clusters = 0;
    CHECK_STATUS(ax_feature_batch_create(f, &cfg, &b), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "max_msa_clusters");
    cfg = (ax_feature_batch_config)AX_FEATURE_BATCH_CONFIG_INIT;
    cfg.max_extra_msa = -1;
    CHECK_STATUS(ax_feature_batch_create(f, &cfg, &b), AX_ERR_INVALID_ARGUMENT);
    cfg = (ax_feature_batch_config)AX_FEATURE_BATCH_CONFIG_INIT;
    cfg.masked_msa_fraction = 1.5f;
    CHECK_STATUS(ax_feature_batch_create(f, &cfg, &b), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "masked_msa_fraction");
    cfg.masked_msa_fraction = NAN;
    CHECK_STATUS(ax_feature_batch_create(f, &cfg, &b), AX_ERR_INVALID_ARGUMENT);
    cfg = (ax_feature_batch_config)AX_FEATURE_BATCH_CONFIG_INIT;
    cfg.masked_msa_uniform_prob = 0.5f;
    cfg.masked_msa_profile_prob = 0.4f;
    cfg.masked_msa_same_prob = 0.2f;
    CHECK_STATUS(ax_feature_batch_create(f, &cfg, &b), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "exceeds 1");
    cfg = (ax_feature_batch_config)AX_FEATURE_BATCH_CONFIG_INIT;

    f->msa[3 * 10 + 7] = 22; /* the mask token is not an input token */
    CHECK_STATUS(ax_feature_batch_create(f, &cfg, &b), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "row 3 column 7");
    f->msa[3 * 10 + 7] = 5;
    f->deletion_matrix[2 * 10 + 1] = -4;
    CHECK_STATUS(ax_feature_batch_create(f, &cfg, &b), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "row 2 column 1");
    f->deletion_matrix[2 * 10 + 1] = 0;
    f->aatype[4] = 21;
    CHECK_STATUS(ax_feature_batch_create(f, &cfg, &b), AX_ERR_INVALID_ARGUMENT);
    CHECK_CONTAINS(ax_last_error(), "aatype[4]");
    f->aatype[4] = 3;
    CHECK(b == NULL);
    CHECK_OK(ax_feature_batch_create(f, &cfg, &b));
    ax_feature_batch_destroy(b);
    ax_feature_batch_destroy(NULL);
    ax_chain_features_destroy(f);
}

int main(void) {
    RUN(test_random_features);
    RUN(test_reproducible);
    RUN(test_nearest_kernels);
    RUN(test_sparse_kernels);
    RUN(test_sparse_bytes_kernels);
    RUN(test_masking_statistics);
    RUN(test_real_data);
    RUN(test_errors);
    return th_finish();
}

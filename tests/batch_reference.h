/*
 * batch_reference.h — a training batch checked against its chain features, recomputed here
 * independently of the library (brute-force cluster assignment, profiles, deletion means, msa_feat,
 * target_feat), plus a byte-for-byte comparison of two batches. Shared by test_batch.c and
 * test_store.c (batches read from a store). Header-only: static inline, so a test that uses only
 * some of them compiles without unused-function warnings.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_TESTS_BATCH_REFERENCE_H
#define AXIAL_TESTS_BATCH_REFERENCE_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axial/features.h"
#include "harness.h"

static inline size_t tensor_bytes(const ax_tensor *t) {
    return t->data == NULL ? 0 : (size_t)ax_tensor_numel(t) * ax_dtype_size(t->dtype);
}

static inline const ax_tensor *batch_tensor(const ax_feature_batch *b, int i) {
    const ax_tensor *all[] = {&b->aatype, &b->residue_index, &b->target_feat, &b->msa, &b->true_msa,
                              &b->bert_mask, &b->deletion_matrix, &b->cluster_profile, &b->cluster_deletion_mean,
                              &b->msa_feat, &b->extra_msa, &b->extra_has_deletion, &b->extra_deletion_value,
                              &b->msa_row, &b->cluster_assignment, &b->all_atom_positions, &b->all_atom_mask};
    return i < (int)(sizeof all / sizeof all[0]) ? all[i] : NULL;
}

/* 1 when every tensor of the two batches holds the same bytes (and the sizes agree). */
static inline int batches_identical(const ax_feature_batch *a, const ax_feature_batch *b) {
    if (a->num_res != b->num_res || a->crop_start != b->crop_start || a->num_clusters != b->num_clusters ||
        a->num_extra != b->num_extra || a->num_remaining != b->num_remaining)
        return 0;
    for (int i = 0; batch_tensor(a, i) != NULL; i++) {
        const ax_tensor *x = batch_tensor(a, i), *y = batch_tensor(b, i);
        if (tensor_bytes(x) != tensor_bytes(y)) return 0;
        if (tensor_bytes(x) > 0 && memcmp(x->data, y->data, tensor_bytes(x)) != 0) return 0;
    }
    return 1;
}

static inline void check_shape(const ax_tensor *t, ax_dtype dtype, int32_t ndim, int64_t d0, int64_t d1, int64_t d2) {
    CHECK_INT_EQ(t->dtype, dtype);
    CHECK_INT_EQ(t->ndim, ndim);
    const int64_t dims[3] = {d0, d1, d2};
    for (int32_t d = 0; d < ndim && d < 3; d++) CHECK_INT_EQ(t->shape[d], dims[d]);
    CHECK(ax_tensor_is_contiguous(t));
    CHECK(t->device.type == AX_CPU);
    CHECK((t->data == NULL) == (ndim == 0 || ax_tensor_numel(t) == 0));
}

static inline double deletion_curve(double d) { return 2.0 / 3.14159265358979323846 * atan(d / 3.0); }

/* Every documented property of batch b, recomputed from f independently of the library. */
static inline void verify_batch(const ax_chain_features *f, const ax_feature_batch_config *cfg, const ax_feature_batch *b) {
    const int64_t Lf = f->seq_length, N = f->num_alignments;
    const int64_t L = cfg->crop_size > 0 && cfg->crop_size < Lf ? cfg->crop_size : Lf;
    const int64_t C = cfg->max_msa_clusters < N ? cfg->max_msa_clusters : N;
    const int64_t R = N - C;
    const int64_t E = cfg->max_extra_msa < R ? cfg->max_extra_msa : R;
    CHECK_INT_EQ(b->num_res, L);
    CHECK_INT_EQ(b->num_clusters, C);
    CHECK_INT_EQ(b->num_remaining, R);
    CHECK_INT_EQ(b->num_extra, E);
    CHECK(b->crop_start >= 0 && b->crop_start + L <= Lf);
    const int failures_before = th_failures;
    const int with_structure = f->all_atom_positions != NULL;
    check_shape(&b->aatype, AX_I32, 1, L, 0, 0);
    check_shape(&b->residue_index, AX_I32, 1, L, 0, 0);
    check_shape(&b->target_feat, AX_F32, 2, L, 22, 0);
    check_shape(&b->msa, AX_I32, 2, C, L, 0);
    check_shape(&b->true_msa, AX_I32, 2, C, L, 0);
    check_shape(&b->bert_mask, AX_F32, 2, C, L, 0);
    check_shape(&b->deletion_matrix, AX_I32, 2, C, L, 0);
    check_shape(&b->cluster_profile, AX_F32, 3, C, L, 23);
    check_shape(&b->cluster_deletion_mean, AX_F32, 2, C, L, 0);
    check_shape(&b->msa_feat, AX_F32, 3, C, L, 49);
    check_shape(&b->extra_msa, AX_I32, 2, E, L, 0);
    check_shape(&b->extra_has_deletion, AX_F32, 2, E, L, 0);
    check_shape(&b->extra_deletion_value, AX_F32, 2, E, L, 0);
    check_shape(&b->msa_row, AX_I64, 1, C + R, 0, 0);
    check_shape(&b->cluster_assignment, AX_I32, 1, R, 0, 0);
    check_shape(&b->all_atom_positions, AX_F32, with_structure ? 3 : 0, L, 37, 3);
    check_shape(&b->all_atom_mask, AX_F32, with_structure ? 2 : 0, L, 37, 0);
    if (th_failures > failures_before) return; /* the rest would read out of bounds */

    const int64_t s0 = b->crop_start;
    const int32_t *aatype = b->aatype.data, *residue_index = b->residue_index.data;
    const float *target = b->target_feat.data;
    int bad = 0;
    for (int64_t i = 0; i < L; i++) {
        bad += aatype[i] != f->aatype[s0 + i] || residue_index[i] != f->residue_index[s0 + i];
        float sum = 0;
        for (int ch = 0; ch < 22; ch++) sum += target[i * 22 + ch];
        bad += target[i * 22 + 0] != 0.0f || target[i * 22 + 1 + aatype[i]] != 1.0f || sum != 1.0f;
    }
    CHECK_INT_EQ(bad, 0);

    /* msa_row: a permutation of 0..N-1 with the query first. */
    const int64_t *row = b->msa_row.data;
    char *seen = calloc((size_t)N, 1);
    bad = row[0] != 0;
    for (int64_t r = 0; r < N; r++) {
        if (row[r] < 0 || row[r] >= N || seen[row[r]]) bad++;
        else seen[row[r]] = 1;
    }
    free(seen);
    CHECK_INT_EQ(bad, 0);
    if (bad) return;

    /* Centres: true_msa is the source row; masking only changes selected positions. */
    const int32_t *msa = b->msa.data, *true_msa = b->true_msa.data, *dels = b->deletion_matrix.data;
    const float *bert = b->bert_mask.data;
    bad = 0;
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < L; i++) {
            const int64_t e = c * L + i, src = row[c] * Lf + s0 + i;
            bad += true_msa[e] != f->msa[src] || dels[e] != f->deletion_matrix[src];
            bad += (bert[e] == 0.0f && msa[e] != true_msa[e]) || (bert[e] != 0.0f && bert[e] != 1.0f);
            bad += msa[e] < 0 || msa[e] > 22;
        }
    CHECK_INT_EQ(bad, 0);

    /* Brute-force nearest centre: most positions with equal tokens in 0..20; lowest index wins. */
    const int32_t *assignment = b->cluster_assignment.data;
    bad = 0;
    for (int64_t r = 0; r < R; r++) {
        const int32_t *src = f->msa + row[C + r] * Lf + s0;
        int64_t best = -1, best_score = -1;
        for (int64_t c = 0; c < C; c++) {
            int64_t score = 0;
            for (int64_t i = 0; i < L; i++) score += src[i] <= 20 && src[i] == msa[c * L + i];
            if (score > best_score) {
                best_score = score;
                best = c;
            }
        }
        if (assignment[r] != best) {
            if (bad < 5) TH_FAIL("remaining row %lld: assigned %d, brute force %lld", (long long)r, assignment[r], (long long)best);
            bad++;
        }
    }
    CHECK_INT_EQ(bad, 0);

    /* Profiles and deletion means, recounted. */
    double *counts = calloc((size_t)(C * L * 23), sizeof(double));
    double *del_sum = calloc((size_t)(C * L), sizeof(double));
    double *size = calloc((size_t)C, sizeof(double));
    for (int64_t c = 0; c < C; c++) {
        size[c] = 1;
        for (int64_t i = 0; i < L; i++) {
            counts[(c * L + i) * 23 + msa[c * L + i]] += 1;
            del_sum[c * L + i] += dels[c * L + i];
        }
    }
    for (int64_t r = 0; r < R; r++) {
        const int64_t c = assignment[r];
        size[c] += 1;
        for (int64_t i = 0; i < L; i++) {
            counts[(c * L + i) * 23 + f->msa[row[C + r] * Lf + s0 + i]] += 1;
            del_sum[c * L + i] += f->deletion_matrix[row[C + r] * Lf + s0 + i];
        }
    }
    const float *profile = b->cluster_profile.data, *del_mean = b->cluster_deletion_mean.data;
    const float *feat = b->msa_feat.data;
    int bad_profile = 0, bad_sum = 0, bad_mean = 0, bad_feat = 0;
    for (int64_t c = 0; c < C; c++)
        for (int64_t i = 0; i < L; i++) {
            const int64_t e = c * L + i;
            double sum = 0;
            for (int t = 0; t < 23; t++) {
                bad_profile += fabs(profile[e * 23 + t] - counts[e * 23 + t] / size[c]) > 1e-6;
                sum += profile[e * 23 + t];
            }
            bad_sum += fabs(sum - 1.0) > 1e-5;
            const double mean = del_sum[e] / size[c];
            bad_mean += fabs(del_mean[e] - mean) > 1e-5 * (1 + mean);
            /* msa_feat: one-hot 23 | has_deletion | deletion_value | profile 23 | mean value */
            const float *x = feat + e * 49;
            for (int t = 0; t < 23; t++) bad_feat += x[t] != (t == msa[e] ? 1.0f : 0.0f);
            bad_feat += x[23] != (dels[e] > 0 ? 1.0f : 0.0f);
            bad_feat += fabs(x[24] - deletion_curve(dels[e])) > 1e-6;
            for (int t = 0; t < 23; t++) bad_feat += x[25 + t] != profile[e * 23 + t];
            bad_feat += fabs(x[48] - deletion_curve(mean)) > 1e-6;
        }
    CHECK_INT_EQ(bad_profile, 0);
    CHECK_INT_EQ(bad_sum, 0);
    CHECK_INT_EQ(bad_mean, 0);
    CHECK_INT_EQ(bad_feat, 0);
    free(counts);
    free(del_sum);
    free(size);

    /* Extra MSA: the first E remaining rows, unmasked. */
    const int32_t *extra = b->extra_msa.data;
    const float *has_del = b->extra_has_deletion.data, *del_value = b->extra_deletion_value.data;
    bad = 0;
    for (int64_t e = 0; e < E; e++)
        for (int64_t i = 0; i < L; i++) {
            const int64_t src = row[C + e] * Lf + s0 + i, k = e * L + i;
            const int32_t d = f->deletion_matrix[src];
            bad += extra[k] != f->msa[src] || has_del[k] != (d > 0 ? 1.0f : 0.0f) ||
                   fabs(del_value[k] - deletion_curve(d)) > 1e-6;
        }
    CHECK_INT_EQ(bad, 0);

    if (with_structure) {
        CHECK(memcmp(b->all_atom_positions.data, f->all_atom_positions + s0 * 37 * 3, (size_t)L * 37 * 3 * 4) == 0);
        CHECK(memcmp(b->all_atom_mask.data, f->all_atom_mask + s0 * 37, (size_t)L * 37 * 4) == 0);
    }
}

#endif /* AXIAL_TESTS_BATCH_REFERENCE_H */

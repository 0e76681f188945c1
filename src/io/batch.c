/*
 * batch.c — training batches from chain features: crop, MSA cluster sampling, BERT-style masking,
 * cluster profiles, msa_feat and target_feat (AlphaFold2 supplement 1.2.5-1.2.9). The steps and
 * formulas are documented in include/axial/features.h and docs/features.md.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "axial/features.h"
#include "core/internal.h"
#include "io/features_batch.h"
#include "io/features_util.h"
#include "core/grow.h"

/* Alignment of every tensor inside the batch's block (a cache line, and enough for AVX-512). */
#define BATCH_ALIGN 64
/* Deletion counts below this get their 2/pi*atan(d/3) from a table built once per batch. */
#define DELETION_TABLE_SIZE 256
/* 2/pi, written out: strict C11 headers do not define M_PI. */
#define TWO_OVER_PI 0.636619772367581343075535053490057448

/* Every tensor of the batch, in the order they are laid out in its one block of memory. */
typedef struct tensor_plan {
    ax_tensor *tensor;
    ax_dtype dtype;
    int32_t ndim;
    int64_t shape[3];
} tensor_plan;

/* Scratch of the build, freed when the batch is done. */
typedef struct batch_work {
    int64_t *order;                  /* (N) sampled order of source rows: query, C-1 centres, remaining */
    uint8_t *centres_t;              /* (L, centres_stride) masked centre tokens, column-major */
    uint8_t *remaining_tokens;       /* (R, L) cropped tokens of the remaining rows, in sampled order */
    int64_t *deletion_begin;         /* (R): the extra row r's nonzero deletions are */
    int64_t *deletion_end;           /* (R): deletions[deletion_begin[r], deletion_end[r]) */
    int64_t *slot_of_row;            /* (N): position of a source row among the remaining rows, or -1 */
    uint32_t *totals;                /* (centres_stride) agreement per centre */
    int64_t *cluster_start;          /* (C + 1) remaining rows grouped by centre: counting-sort offsets */
    int64_t *cluster_rows;           /* (R) remaining-row indices, grouped by centre */
    int32_t *counts;                 /* (L, 23) token counts of the cluster being summarised */
    int64_t *deletion_sum;           /* (C, L) deletion sums per cluster, centre included */
    ax_batch_deletion *deletions;    /* nonzero deletions of the extra rows, row after row (grows) */
    int64_t deletions_capacity;
    uint8_t *centre_tokens;          /* (L) the crop of the centre being masked */
    int32_t *centre_deletions;       /* (L) its deletions */
} batch_work;

static void work_free(batch_work *w) {
    free(w->order);
    free(w->centres_t);
    free(w->remaining_tokens);
    free(w->deletion_begin);
    free(w->deletion_end);
    free(w->slot_of_row);
    free(w->totals);
    free(w->cluster_start);
    free(w->cluster_rows);
    free(w->counts);
    free(w->deletion_sum);
    free(w->deletions);
    free(w->centre_tokens);
    free(w->centre_deletions);
}

/* The public struct plus the one block every tensor points into; callers only see `batch`. */
typedef struct batch_owner {
    ax_feature_batch batch; /* first member: a batch pointer is an owner pointer */
    void *block;
} batch_owner;

void ax_feature_batch_destroy(ax_feature_batch *batch) {
    if (batch == NULL) return;
    batch_owner *owner = (batch_owner *)batch;
    free(owner->block);
    free(owner);
}

ax_status ax_batch_check_config(const ax_feature_batch_config *cfg) {
    if (cfg->struct_size != sizeof(ax_feature_batch_config))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "cfg->struct_size: %zu is not a known ax_feature_batch_config size (use "
                            "AX_FEATURE_BATCH_CONFIG_INIT)",
                            cfg->struct_size);
    if (cfg->max_msa_clusters < 1)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->max_msa_clusters: %lld, expected >= 1",
                            (long long)cfg->max_msa_clusters);
    if (cfg->max_extra_msa < 0)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->max_extra_msa: %lld, expected >= 0",
                            (long long)cfg->max_extra_msa);
    const struct {
        const char *name;
        float value;
    } probs[4] = {{"masked_msa_fraction", cfg->masked_msa_fraction},
                  {"masked_msa_uniform_prob", cfg->masked_msa_uniform_prob},
                  {"masked_msa_profile_prob", cfg->masked_msa_profile_prob},
                  {"masked_msa_same_prob", cfg->masked_msa_same_prob}};
    for (int i = 0; i < 4; i++)
        if (!(probs[i].value >= 0.0f && probs[i].value <= 1.0f)) /* also rejects NaN */
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "cfg->%s: %g is outside [0, 1]", probs[i].name,
                                (double)probs[i].value);
    const double replace_sum =
        (double)cfg->masked_msa_uniform_prob + cfg->masked_msa_profile_prob + cfg->masked_msa_same_prob;
    if (replace_sum > 1.0 + 1e-6)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "cfg: masked_msa_uniform_prob + profile_prob + same_prob = %g exceeds 1", replace_sum);
    return AX_OK;
}

static ax_status check_features(const ax_chain_features *f) {
    if (f->seq_length < 1 || f->seq_length > INT32_MAX)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features->seq_length: %lld is outside [1, 2^31)",
                            (long long)f->seq_length);
    /* Row indices are drawn with 32 random bits and cluster ids are int32. */
    if (f->num_alignments < 1 || f->num_alignments > INT32_MAX)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features->num_alignments: %lld is outside [1, 2^31)",
                            (long long)f->num_alignments);
    if (f->aatype == NULL || f->residue_index == NULL || f->msa == NULL || f->deletion_matrix == NULL)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "features: aatype, residue_index, msa and deletion_matrix must not be NULL");
    if ((f->all_atom_positions == NULL) != (f->all_atom_mask == NULL))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT,
                            "features: all_atom_positions and all_atom_mask must both be set or both NULL");
    int64_t count = 0;
    if (!ax_feat_mul(f->num_alignments, f->seq_length, sizeof(int32_t), &count))
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: msa size overflows");
    return AX_OK;
}

/* Lays out the tensors in one aligned block, owned by `owner`. */
static ax_status allocate_tensors(batch_owner *owner, tensor_plan *plan, int count) {
    size_t total = 0;
    size_t offsets[32];
    for (int i = 0; i < count; i++) {
        int64_t numel = 1;
        for (int32_t d = 0; d < plan[i].ndim; d++)
            if (!ax_feat_mul(numel, plan[i].shape[d], ax_dtype_size(plan[i].dtype), &numel))
                return ax_set_error(AX_ERR_INVALID_ARGUMENT, "batch: tensor size overflows");
        /* ndim 0 marks an absent tensor (no structure): no memory, data NULL. */
        const size_t bytes = plan[i].ndim == 0 ? 0 : (size_t)numel * ax_dtype_size(plan[i].dtype);
        offsets[i] = total;
        const size_t padded = (bytes + BATCH_ALIGN - 1) / BATCH_ALIGN * BATCH_ALIGN;
        if (padded < bytes || total > SIZE_MAX - padded)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "batch: total size overflows");
        total += padded;
    }
    char *block = aligned_alloc(BATCH_ALIGN, total > 0 ? total : BATCH_ALIGN);
    if (block == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "batch: out of memory (%zu bytes)", total);
    owner->block = block;
    for (int i = 0; i < count; i++) {
        int64_t numel = 1;
        for (int32_t d = 0; d < plan[i].ndim; d++) numel *= plan[i].shape[d];
        /* Shapes were checked above, so describing them cannot fail. */
        const int present = plan[i].ndim > 0 && numel > 0;
        ax_tensor_contiguous(plan[i].tensor, present ? block + offsets[i] : NULL, plan[i].dtype, plan[i].ndim,
                             plan[i].shape);
    }
    return AX_OK;
}

static ax_status allocate_work(batch_work *w, int64_t N, int64_t L, int64_t C, int64_t R, int64_t stride) {
    /* + 1: malloc(0) may return NULL, which must not read as out of memory. */
    w->order = malloc((size_t)N * sizeof *w->order + 1);
    w->centres_t = malloc((size_t)(L * stride) + 1);
    w->remaining_tokens = malloc((size_t)(R * L) + 1);
    w->deletion_begin = malloc((size_t)R * sizeof *w->deletion_begin + 1);
    w->deletion_end = malloc((size_t)R * sizeof *w->deletion_end + 1);
    w->slot_of_row = malloc((size_t)N * sizeof *w->slot_of_row + 1);
    w->totals = malloc((size_t)stride * sizeof *w->totals + 1);
    w->cluster_start = malloc((size_t)(C + 1) * sizeof *w->cluster_start);
    w->cluster_rows = malloc((size_t)R * sizeof *w->cluster_rows + 1);
    w->counts = malloc((size_t)L * AX_MSA_NUM_TOKENS * sizeof *w->counts);
    w->deletion_sum = malloc((size_t)(C * L) * sizeof *w->deletion_sum);
    w->centre_tokens = malloc((size_t)L);
    w->centre_deletions = malloc((size_t)L * sizeof *w->centre_deletions);
    if (w->order == NULL || w->centres_t == NULL || w->remaining_tokens == NULL || w->deletion_begin == NULL ||
        w->deletion_end == NULL || w->slot_of_row == NULL || w->totals == NULL || w->cluster_start == NULL ||
        w->cluster_rows == NULL || w->counts == NULL || w->deletion_sum == NULL || w->centre_tokens == NULL ||
        w->centre_deletions == NULL)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "batch: out of memory for scratch (%lld rows x %lld columns)",
                            (long long)N, (long long)L);
    return AX_OK;
}


static float deletion_value(int64_t d, const float *table) {
    if (d < DELETION_TABLE_SIZE) return table[d];
    return (float)(TWO_OVER_PI * atan((double)d / 3.0));
}

/* ---- reading the source's MSA ----------------------------------------------------------------
 * Columns below are indices into the source's MSA arrays (chain column - msa_first_column). */

static int32_t token_at(const ax_batch_source *s, int64_t row, int64_t column) {
    const int64_t e = row * s->msa_stride + column;
    return s->msa_bytes != NULL ? (int32_t)s->msa_bytes[e] : s->msa[e];
}

static int32_t deletion_at(const ax_batch_source *s, int64_t row, int64_t column) {
    const int64_t e = row * s->msa_stride + column;
    return s->deletion_bytes != NULL ? (int32_t)s->deletion_bytes[e] : s->deletions[e];
}

static ax_status bad_token(const ax_batch_source *s, int64_t row, int64_t column) {
    return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: row %lld column %lld holds %d, expected a token in [0, 21]",
                        s->msa_name, (long long)row, (long long)(s->msa_first_column + column),
                        (int)token_at(s, row, column));
}

static ax_status bad_deletion(const ax_batch_source *s, int64_t row, int64_t column) {
    return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: row %lld column %lld is negative (%d)", s->deletions_name,
                        (long long)row, (long long)(s->msa_first_column + column), (int)deletion_at(s, row, column));
}

/* Finds the first invalid entry of a row's crop once a vectorised check has seen one. */
static ax_status report_bad_row(const ax_batch_source *s, int64_t row, int64_t first, int64_t length) {
    for (int64_t i = first; i < first + length; i++) {
        if ((uint32_t)token_at(s, row, i) > AX_MSA_GAP) return bad_token(s, row, i);
        if (deletion_at(s, row, i) < 0) return bad_deletion(s, row, i);
    }
    return ax_set_error(AX_ERR_INTERNAL, "batch: row %lld reported invalid but is not", (long long)row);
}

/* Copies a row's crop of tokens into out as bytes; nonzero when one is outside 0..21. Both loops
 * are written to vectorise (copy or narrowing, and the range check). */
static uint32_t load_tokens(const ax_batch_source *s, int64_t row, int64_t first, int64_t length,
                            uint8_t *restrict out) {
    uint32_t bad = 0;
    if (s->msa_bytes != NULL) {
        const uint8_t *restrict tokens = s->msa_bytes + row * s->msa_stride + first;
        for (int64_t i = 0; i < length; i++) {
            bad |= tokens[i] > AX_MSA_GAP;
            out[i] = tokens[i];
        }
    } else {
        const int32_t *restrict tokens = s->msa + row * s->msa_stride + first;
        for (int64_t i = 0; i < length; i++) {
            bad |= (uint32_t)tokens[i] > AX_MSA_GAP;
            out[i] = (uint8_t)tokens[i];
        }
    }
    return bad;
}

/* Copies a row's crop of deletions into out; nonzero when one is negative. */
static uint32_t load_deletions(const ax_batch_source *s, int64_t row, int64_t first, int64_t length,
                               int32_t *restrict out) {
    int32_t any = 0;
    if (s->deletion_bytes != NULL) {
        const uint8_t *restrict deletions = s->deletion_bytes + row * s->msa_stride + first;
        for (int64_t i = 0; i < length; i++) out[i] = deletions[i];
        return 0;
    }
    const int32_t *restrict deletions = s->deletions + row * s->msa_stride + first;
    for (int64_t i = 0; i < length; i++) {
        any |= deletions[i];
        out[i] = deletions[i];
    }
    return any < 0;
}

/* Step 3: BERT-style masking of the centres; writes msa, true_msa, bert_mask, the centres'
 * deletions, and the transposed centre tokens the assignment compares against. `first` is the
 * crop's first column in the source's MSA arrays. */
static ax_status mask_centres(const ax_batch_source *s, const ax_feature_batch_config *cfg, const batch_work *w,
                              int64_t first, int64_t length, int64_t num_centres, int64_t centres_stride,
                              ax_rng *rng, ax_feature_batch *b) {
    int32_t *msa = b->msa.data, *true_msa = b->true_msa.data, *deletions = b->deletion_matrix.data;
    float *bert_mask = b->bert_mask.data;
    const int64_t num_rows = s->num_alignments;
    /* Cumulative thresholds in float, compared against 24-bit uniforms: exact and portable. */
    const float to_uniform = cfg->masked_msa_uniform_prob;
    const float to_profile = to_uniform + cfg->masked_msa_profile_prob;
    const float to_same = to_profile + cfg->masked_msa_same_prob;
    for (int64_t c = 0; c < num_centres; c++) {
        const int64_t source = w->order[c];
        const uint8_t *row = w->centre_tokens;
        const int32_t *row_deletions = w->centre_deletions;
        if (load_tokens(s, source, first, length, w->centre_tokens) |
            load_deletions(s, source, first, length, w->centre_deletions))
            return report_bad_row(s, source, first, length);
        for (int64_t i = 0; i < length; i++) {
            const int32_t original = row[i];
            int32_t token = original;
            float selected = 0.0f;
            if (ax_rng_uniform(rng) < cfg->masked_msa_fraction) {
                selected = 1.0f;
                const float category = ax_rng_uniform(rng);
                if (category < to_uniform) {
                    token = (int32_t)ax_rng_below(rng, AX_NUM_RESTYPES);
                } else if (category < to_profile) {
                    /* A draw from the column's profile over all N rows is the token of a uniformly
                     * chosen row: no profile needs to be built. */
                    const int64_t other = (int64_t)ax_rng_below(rng, (uint64_t)num_rows);
                    token = token_at(s, other, first + i);
                    if ((uint32_t)token > AX_MSA_GAP) return bad_token(s, other, first + i);
                } else if (category >= to_same) {
                    token = AX_MSA_MASK_TOKEN;
                }
            }
            true_msa[c * length + i] = original;
            msa[c * length + i] = token;
            bert_mask[c * length + i] = selected;
            deletions[c * length + i] = row_deletions[i];
            /* Gaps and the mask token never agree with anything (AF2 weighs them 0). */
            w->centres_t[i * centres_stride + c] = token < AX_MSA_GAP ? (uint8_t)token : AX_BATCH_NO_TOKEN;
        }
    }
    return AX_OK;
}

/* Prefetch hints for rows read next (the hardware prefetcher does not follow rows that are a page
 * or more apart). Hints only: no effect on results. Always inlined: GCC otherwise finds that these
 * functions have no side effects and deletes the calls (measured: 1-3 ms per batch lost). */
#if defined(__GNUC__) || defined(__clang__)
#  define AX_BATCH_ALWAYS_INLINE __attribute__((always_inline)) inline
#else
#  define AX_BATCH_ALWAYS_INLINE inline
#endif

static AX_BATCH_ALWAYS_INLINE void prefetch_bytes(const void *start, int64_t bytes) {
#if defined(__GNUC__) || defined(__clang__)
    for (int64_t i = 0; i < bytes; i += 64) __builtin_prefetch((const char *)start + i);
#else
    (void)start, (void)bytes;
#endif
}

static AX_BATCH_ALWAYS_INLINE void prefetch_row(const ax_batch_source *s, int64_t row, int64_t first, int64_t length) {
    const int64_t e = row * s->msa_stride + first;
    const int64_t token_size = s->msa_bytes != NULL ? 1 : (int64_t)sizeof(int32_t);
    const int64_t deletion_size = s->deletion_bytes != NULL ? 1 : (int64_t)sizeof(int32_t);
    const char *tokens = s->msa_bytes != NULL ? (const char *)s->msa_bytes : (const char *)s->msa;
    const char *deletions = s->deletion_bytes != NULL ? (const char *)s->deletion_bytes : (const char *)s->deletions;
    prefetch_bytes(tokens + e * token_size, length * token_size);
    prefetch_bytes(deletions + e * deletion_size, length * deletion_size);
}

/* Step 4: one pass over the remaining rows that validates them, keeps their cropped tokens as bytes
 * and their nonzero deletions, and assigns each to its nearest centre. The rows are visited in
 * source order, not sampled order: reading the (N, L) matrices front to back lets the hardware
 * prefetcher stream them, which matters more than anything else here (the pass is memory-bound). */
static ax_status assign_rows(const ax_batch_source *s, batch_work *w, int64_t first, int64_t length,
                             int64_t num_centres, int64_t centres_stride, ax_feature_batch *b) {
    const int64_t num_remaining = b->num_remaining, num_rows = s->num_alignments;
    int32_t *assignment = b->cluster_assignment.data;
    const ax_batch_nearest_fn nearest = ax_batch_nearest_kernel();
    const ax_batch_sparse_fn sparse = ax_batch_sparse_kernel();
    const ax_batch_sparse_bytes_fn sparse_bytes = ax_batch_sparse_bytes_kernel();
    int64_t used = 0;
    /* The centres count their own deletions (as in AF2). */
    const int32_t *centre_deletions = b->deletion_matrix.data;
    for (int64_t e = 0; e < num_centres * length; e++) w->deletion_sum[e] = centre_deletions[e];
    for (int64_t source = 0; source < num_rows; source++) w->slot_of_row[source] = -1;
    for (int64_t r = 0; r < num_remaining; r++) w->slot_of_row[w->order[num_centres + r]] = r;
    for (int64_t source = 0; source < num_rows; source++) {
        const int64_t r = w->slot_of_row[source];
        if (r < 0) continue; /* a centre */
        if (source + 1 < num_rows) prefetch_row(s, source + 1, first, length);
        if (used > w->deletions_capacity - length)
            AX_CHECK(ax_grow((void **)&w->deletions, &w->deletions_capacity, used + length, sizeof *w->deletions));
        uint8_t *bytes = w->remaining_tokens + r * length;
        w->deletion_begin[r] = used;
        uint32_t bad = load_tokens(s, source, first, length, bytes);
        /* Deletions are mostly zero: keep the nonzero ones (measured: most of this pass's time went
         * here before the vector kernels). */
        const int64_t e = source * s->msa_stride + first;
        if (s->deletion_bytes != NULL) {
            used += sparse_bytes(s->deletion_bytes + e, length, w->deletions + used);
        } else {
            int negative = 0;
            used += sparse(s->deletions + e, length, w->deletions + used, &negative);
            bad |= (uint32_t)negative;
        }
        if (bad) return report_bad_row(s, source, first, length);
        const int32_t centre = nearest(w->centres_t, num_centres, centres_stride, bytes, length, w->totals);
        assignment[r] = centre;
        /* Deletion sums go straight to the (C, L) table (small enough to stay in cache); the sparse
         * entries are only kept for the extra rows, which report them one by one. */
        int64_t *sum = w->deletion_sum + centre * length;
        for (int64_t d = w->deletion_begin[r]; d < used; d++) sum[w->deletions[d].col] += w->deletions[d].value;
        if (r >= b->num_extra) used = w->deletion_begin[r];
        w->deletion_end[r] = used;
    }
    return AX_OK;
}


/* Steps 5-6, one cluster at a time (its rows grouped by a counting sort) so that the cluster's
 * (L, 23) counts stay in cache while its rows are added: cluster_profile, cluster_deletion_mean and
 * msa_feat. */
static void summarise_clusters(batch_work *w, int64_t length, int64_t num_centres, const float *deletion_table,
                               ax_feature_batch *b) {
    const int64_t num_remaining = b->num_remaining;
    const int32_t *assignment = b->cluster_assignment.data;
    memset(w->cluster_start, 0, (size_t)(num_centres + 1) * sizeof *w->cluster_start);
    for (int64_t r = 0; r < num_remaining; r++) w->cluster_start[assignment[r] + 1]++;
    for (int64_t c = 0; c < num_centres; c++) w->cluster_start[c + 1] += w->cluster_start[c];
    for (int64_t r = 0; r < num_remaining; r++) w->cluster_rows[w->cluster_start[assignment[r]]++] = r;
    /* The fill advanced each start to the next cluster's; shift back. */
    for (int64_t c = num_centres; c > 0; c--) w->cluster_start[c] = w->cluster_start[c - 1];
    w->cluster_start[0] = 0;

    const int32_t *msa = b->msa.data, *centre_deletions = b->deletion_matrix.data;
    float *profile = b->cluster_profile.data, *deletion_mean = b->cluster_deletion_mean.data;
    float *feat = b->msa_feat.data;
    for (int64_t c = 0; c < num_centres; c++) {
        memset(w->counts, 0, (size_t)length * AX_MSA_NUM_TOKENS * sizeof *w->counts);
        /* The centre counts itself (its masked token), as in AF2. */
        for (int64_t i = 0; i < length; i++) w->counts[i * AX_MSA_NUM_TOKENS + msa[c * length + i]]++;
        for (int64_t k = w->cluster_start[c]; k < w->cluster_start[c + 1]; k++) {
            const int64_t r = w->cluster_rows[k];
            const uint8_t *tokens = w->remaining_tokens + r * length;
            /* The rows of a cluster are scattered through remaining_tokens: fetch the next early. */
            if (k + 1 < num_remaining) prefetch_bytes(w->remaining_tokens + w->cluster_rows[k + 1] * length, length);
            for (int64_t i = 0; i < length; i++) w->counts[i * AX_MSA_NUM_TOKENS + tokens[i]]++;
        }
        const int64_t size = 1 + w->cluster_start[c + 1] - w->cluster_start[c];
        const double inv_size = 1.0 / (double)size;
        for (int64_t i = 0; i < length; i++) {
            const int64_t e = c * length + i;
            const int32_t *count = w->counts + i * AX_MSA_NUM_TOKENS;
            float *p = profile + e * AX_MSA_NUM_TOKENS;
            float *out = feat + e * AX_MSA_FEAT_DIM;
            /* msa_feat = one_hot23(msa) | has_deletion | deletion_value | profile | mean value */
            for (int t = 0; t < AX_MSA_NUM_TOKENS; t++) {
                p[t] = (float)((double)count[t] * inv_size);
                out[t] = 0.0f;
                out[25 + t] = p[t];
            }
            out[msa[e]] = 1.0f;
            const int32_t d = centre_deletions[e];
            out[23] = d > 0 ? 1.0f : 0.0f;
            out[24] = deletion_value(d, deletion_table);
            const double mean = (double)w->deletion_sum[e] * inv_size;
            deletion_mean[e] = (float)mean;
            out[48] = mean == 0.0 ? 0.0f : (float)(TWO_OVER_PI * atan(mean / 3.0));
        }
    }
}

static void write_extra(const batch_work *w, int64_t length, const float *deletion_table, ax_feature_batch *b) {
    int32_t *extra = b->extra_msa.data;
    float *has_deletion = b->extra_has_deletion.data, *value = b->extra_deletion_value.data;
    const int64_t count = b->num_extra * length;
    /* The extra rows are the first E remaining rows, whose bytes are already contiguous. */
    for (int64_t e = 0; e < count; e++) extra[e] = w->remaining_tokens[e];
    if (count > 0) {
        memset(has_deletion, 0, (size_t)count * sizeof *has_deletion);
        memset(value, 0, (size_t)count * sizeof *value);
    }
    for (int64_t r = 0; r < b->num_extra; r++)
        for (int64_t d = w->deletion_begin[r]; d < w->deletion_end[r]; d++) {
            const int64_t e = r * length + w->deletions[d].col;
            has_deletion[e] = 1.0f;
            value[e] = deletion_value(w->deletions[d].value, deletion_table);
        }
}

static ax_status write_residue_features(const ax_batch_source *s, int64_t length, int64_t crop_start,
                                        ax_feature_batch *b) {
    int32_t *aatype = b->aatype.data, *residue_index = b->residue_index.data;
    float *target = b->target_feat.data;
    memset(target, 0, (size_t)length * AX_TARGET_FEAT_DIM * sizeof(float));
    for (int64_t i = 0; i < length; i++) {
        const int32_t a = s->aatype[crop_start + i];
        if (a < 0 || a > AX_RESTYPE_UNKNOWN)
            return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s[%lld]: %d is outside [0, 20]", s->aatype_name,
                                (long long)(crop_start + i), (int)a);
        aatype[i] = a;
        residue_index[i] = s->residue_index[crop_start + i];
        /* Channel 0 is AF2's between_segment_residues flag: always 0 within one chain. */
        target[i * AX_TARGET_FEAT_DIM + 1 + a] = 1.0f;
    }
    if (s->all_atom_positions != NULL) {
        memcpy(b->all_atom_positions.data, s->all_atom_positions + crop_start * AX_ATOM37_COUNT * 3,
               (size_t)length * AX_ATOM37_COUNT * 3 * sizeof(float));
        memcpy(b->all_atom_mask.data, s->all_atom_mask + crop_start * AX_ATOM37_COUNT,
               (size_t)length * AX_ATOM37_COUNT * sizeof(float));
    }
    return AX_OK;
}

/* Step 1, the first draw of the batch's random stream. */
static void draw_crop(ax_rng *rng, const ax_feature_batch_config *cfg, int64_t full_length, int64_t *crop_start,
                      int64_t *length) {
    *length = cfg->crop_size > 0 && cfg->crop_size < full_length ? cfg->crop_size : full_length;
    *crop_start = full_length > *length ? (int64_t)ax_rng_below(rng, (uint64_t)(full_length - *length + 1)) : 0;
}

void ax_batch_crop_window(const ax_feature_batch_config *cfg, int64_t seq_length, int64_t *crop_start,
                          int64_t *crop_length) {
    ax_rng rng;
    ax_rng_seed(&rng, cfg->seed);
    draw_crop(&rng, cfg, seq_length, crop_start, crop_length);
}

/* Builds a batch into `owner` (arguments already checked) with scratch `w`. On failure the caller
 * frees both. */
static ax_status build(batch_owner *owner, batch_work *w, const ax_batch_source *source,
                       const ax_feature_batch_config *cfg) {
    const int64_t num_rows = source->num_alignments;
    const int64_t num_centres = cfg->max_msa_clusters < num_rows ? cfg->max_msa_clusters : num_rows;
    const int64_t num_remaining = num_rows - num_centres;
    const int64_t num_extra = cfg->max_extra_msa < num_remaining ? cfg->max_extra_msa : num_remaining;
    const int64_t centres_stride =
        (num_centres + AX_BATCH_CENTRE_BLOCK - 1) / AX_BATCH_CENTRE_BLOCK * AX_BATCH_CENTRE_BLOCK;
    const int with_structure = source->all_atom_positions != NULL;

    ax_rng rng;
    ax_rng_seed(&rng, cfg->seed);
    int64_t crop_start = 0, length = 0;
    draw_crop(&rng, cfg, source->seq_length, &crop_start, &length);
    /* Where the crop's first column sits in the source's MSA arrays. */
    const int64_t first = crop_start - source->msa_first_column;
    if (first < 0 || first + length > source->msa_columns)
        return ax_set_error(AX_ERR_INTERNAL, "batch: the crop [%lld, %lld) is not in the MSA columns held [%lld, %lld)",
                            (long long)crop_start, (long long)(crop_start + length),
                            (long long)source->msa_first_column,
                            (long long)(source->msa_first_column + source->msa_columns));

    ax_feature_batch *b = &owner->batch;
    b->num_res = length;
    b->crop_start = crop_start;
    b->num_clusters = num_centres;
    b->num_extra = num_extra;
    b->num_remaining = num_remaining;

    const int64_t L = length, C = num_centres, E = num_extra, R = num_remaining;
    const int64_t structure_res = with_structure ? L : 0;
    tensor_plan plan[] = {
        {&b->aatype, AX_I32, 1, {L, 0, 0}},
        {&b->residue_index, AX_I32, 1, {L, 0, 0}},
        {&b->target_feat, AX_F32, 2, {L, AX_TARGET_FEAT_DIM, 0}},
        {&b->msa, AX_I32, 2, {C, L, 0}},
        {&b->true_msa, AX_I32, 2, {C, L, 0}},
        {&b->bert_mask, AX_F32, 2, {C, L, 0}},
        {&b->deletion_matrix, AX_I32, 2, {C, L, 0}},
        {&b->cluster_profile, AX_F32, 3, {C, L, AX_MSA_NUM_TOKENS}},
        {&b->cluster_deletion_mean, AX_F32, 2, {C, L, 0}},
        {&b->msa_feat, AX_F32, 3, {C, L, AX_MSA_FEAT_DIM}},
        {&b->extra_msa, AX_I32, 2, {E, L, 0}},
        {&b->extra_has_deletion, AX_F32, 2, {E, L, 0}},
        {&b->extra_deletion_value, AX_F32, 2, {E, L, 0}},
        {&b->msa_row, AX_I64, 1, {C + R, 0, 0}},
        {&b->cluster_assignment, AX_I32, 1, {R, 0, 0}},
        {&b->all_atom_positions, AX_F32, with_structure ? 3 : 0, {structure_res, AX_ATOM37_COUNT, 3}},
        {&b->all_atom_mask, AX_F32, with_structure ? 2 : 0, {structure_res, AX_ATOM37_COUNT, 0}},
    };
    AX_CHECK(allocate_tensors(owner, plan, (int)(sizeof plan / sizeof plan[0])));
    AX_CHECK(allocate_work(w, num_rows, L, C, R, centres_stride));
    AX_CHECK(write_residue_features(source, L, crop_start, b));

    /* Step 2: the query first, the other rows in a uniformly random order (Fisher-Yates). */
    for (int64_t r = 0; r < num_rows; r++) w->order[r] = r;
    for (int64_t r = num_rows - 1; r > 1; r--) {
        const int64_t j = 1 + (int64_t)ax_rng_below(&rng, (uint64_t)r);
        const int64_t tmp = w->order[r];
        w->order[r] = w->order[j];
        w->order[j] = tmp;
    }
    memcpy(b->msa_row.data, w->order, (size_t)num_rows * sizeof *w->order);
    memset(w->centres_t, AX_BATCH_NO_TOKEN, (size_t)(L * centres_stride));

    AX_CHECK(mask_centres(source, cfg, w, first, L, C, centres_stride, &rng, b));
    AX_CHECK(assign_rows(source, w, first, L, C, centres_stride, b));
    float deletion_table[DELETION_TABLE_SIZE];
    for (int d = 0; d < DELETION_TABLE_SIZE; d++) deletion_table[d] = (float)(TWO_OVER_PI * atan(d / 3.0));
    summarise_clusters(w, L, C, deletion_table, b);
    write_extra(w, L, deletion_table, b);
    return AX_OK;
}

ax_status ax_batch_build(const ax_batch_source *source, const ax_feature_batch_config *cfg,
                         ax_feature_batch **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    AX_CHECK(ax_batch_check_config(cfg));
    /* Row indices are drawn with 32 random bits and cluster ids are int32. */
    if (source->seq_length < 1 || source->seq_length > INT32_MAX || source->num_alignments < 1 ||
        source->num_alignments > INT32_MAX)
        return ax_set_error(AX_ERR_INVALID_ARGUMENT, "%s: %lld rows x %lld columns is outside [1, 2^31) x [1, 2^31)",
                            source->msa_name, (long long)source->num_alignments, (long long)source->seq_length);
    batch_owner *owner = calloc(1, sizeof *owner);
    if (owner == NULL) return ax_set_error(AX_ERR_OUT_OF_MEMORY, "batch: out of memory");
    batch_work work;
    memset(&work, 0, sizeof work);
    const ax_status st = build(owner, &work, source, cfg);
    work_free(&work);
    if (st != AX_OK) {
        ax_feature_batch_destroy(&owner->batch);
        return st;
    }
    *out = &owner->batch;
    return AX_OK;
}

ax_status ax_feature_batch_create(const ax_chain_features *features, const ax_feature_batch_config *cfg,
                                  ax_feature_batch **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out: NULL");
    *out = NULL;
    const ax_feature_batch_config defaults = AX_FEATURE_BATCH_CONFIG_INIT;
    if (cfg == NULL) cfg = &defaults;
    if (features == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "features: NULL");
    AX_CHECK(ax_batch_check_config(cfg));
    AX_CHECK(check_features(features));
    const ax_batch_source source = {
        .seq_length = features->seq_length,
        .num_alignments = features->num_alignments,
        .aatype = features->aatype,
        .residue_index = features->residue_index,
        .all_atom_positions = features->all_atom_positions,
        .all_atom_mask = features->all_atom_mask,
        .msa_first_column = 0,
        .msa_columns = features->seq_length,
        .msa_stride = features->seq_length,
        .msa = features->msa,
        .deletions = features->deletion_matrix,
        .aatype_name = "features->aatype",
        .msa_name = "features->msa",
        .deletions_name = "features->deletion_matrix",
    };
    return ax_batch_build(&source, cfg, out);
}

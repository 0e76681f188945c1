/*
 * features.h — AlphaFold2-style chain features (sequence, MSA, atom37 coordinates) and the
 * training-batch builder (crop, MSA cluster sampling, BERT-style masking, msa_feat, target_feat).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * The conventions are AlphaFold2's (and OpenFold's), so features and batches can be compared with
 * theirs value for value. docs/features.md explains each choice and formula at more length.
 * Two arrays are in the form AlphaFold's model-side input pipeline gives them, not its data
 * pipeline's: aatype holds indices (make_sequence_features stores their one-hot, (L, 21)), and msa
 * is in the restype order below (make_msa_features stores HHblits order, A C D E ...; its
 * correct_msa_restypes maps that to this one).
 *
 * Token orders used everywhere below:
 *
 *   aatype   0..19 = A R N D C Q E G H I L K M F P S T W Y V (AlphaFold's restype order),
 *            20 = X: every other letter, including B, Z, U, O and J (AlphaFold's
 *            sequence_to_onehot with map_unknown_to_x).
 *   msa      0..20 as aatype, 21 = gap '-', 22 = mask token (only in masked MSAs). Letters map as
 *            AlphaFold maps MSA rows (HHblits conventions): B -> D, Z -> E, U -> C, and J, O, X -> X.
 *            So a 'B' is 20 in aatype but 3 (D) in msa, exactly as in AlphaFold.
 *   atom37   N CA C CB O CG CG1 CG2 OG OG1 SG CD CD1 CD2 ND1 ND2 OD1 OD2 SD CE CE1 CE2 CE3 NE NE1
 *            NE2 OE1 OE2 CH2 NH1 NH2 OH CZ CZ2 CZ3 NZ OXT (indices 0..36).
 *
 * Thread safety: every function is reentrant. A feature set or batch may be read by several threads
 * at once; destroying it must not race with readers.
 */
#ifndef AXIAL_FEATURES_H
#define AXIAL_FEATURES_H

#include <stddef.h>
#include <stdint.h>

#include "axial/axial.h"
#include "axial/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Token and atom orders
 * ---------------------------------------------------------------------------------------------- */

#define AX_NUM_RESTYPES 20         /* standard amino acids, tokens 0..19 */
#define AX_RESTYPE_UNKNOWN 20      /* X */
#define AX_MSA_GAP 21              /* '-' in msa */
#define AX_MSA_MASK_TOKEN 22       /* BERT mask token in masked MSAs */
#define AX_MSA_NUM_TOKENS 23       /* one-hot width of MSA tokens (20 aa + X + gap + mask) */
#define AX_ATOM37_COUNT 37
#define AX_TARGET_FEAT_DIM 22      /* between-segment flag + one-hot of aatype over 21 */
#define AX_MSA_FEAT_DIM 49         /* 23 + 1 + 1 + 23 + 1, see ax_feature_batch */

/* A few atom37 indices that callers need often (the full order is in the header comment). */
#define AX_ATOM37_N 0
#define AX_ATOM37_CA 1
#define AX_ATOM37_C 2
#define AX_ATOM37_CB 3
#define AX_ATOM37_O 4
#define AX_ATOM37_OXT 36

/* aatype token of a one-letter code (upper or lower case): 0..19, or 20 for anything else. */
AX_API int32_t ax_aatype_from_letter(char letter);

/* msa token of an alignment character: 0..20 as above with B->D, Z->E, U->C, J/O/X -> 20, '-' and
 * '.' -> 21; any other character (not a letter) gives -1. Case-insensitive. */
AX_API int32_t ax_msa_token_from_letter(char letter);

/* One-letter code of an aatype/msa token: "ARNDCQEGHILKMFPSTWYVX-" for 0..21, '?' for 22 (mask)
 * and anything else. */
AX_API char ax_token_letter(int32_t token);

/* atom37 index of an atom name ("CA" -> 1), or -1 when the name is not one of the 37 (hydrogens,
 * ligand atoms, SE of an unconverted MSE). Exact, case-sensitive match. */
AX_API int32_t ax_atom37_index(const char *atom_name);

/* Name of atom37 index `index` ("N", "CA", ...), or NULL outside [0, 37). Static string. */
AX_API const char *ax_atom37_name(int32_t index);

/* 1 when the standard residue type `aatype` (0..19) has the heavy atom at atom37 index
 * `atom37_index` (AlphaFold's restype_atom37_mask: ARG has NH1, GLY has no CB; OXT is not counted
 * for any type), else 0; always 0 for aatype 20 (X) and out-of-range arguments. */
AX_API int ax_restype_has_atom37(int32_t aatype, int32_t atom37_index);

/* ------------------------------------------------------------------------------------------------
 * Chain features
 * ---------------------------------------------------------------------------------------------- */

/* Features of one protein chain. Every pointer member is owned by the struct and freed by
 * ax_chain_features_destroy (they come from malloc). Arrays are row-major. L = seq_length,
 * N = num_alignments.
 *
 * residue_index is the 0-based position in the sequence (0..L-1), as AlphaFold's
 * make_sequence_features does; author numbering is not used (it has gaps and insertion codes). */
typedef struct ax_chain_features {
    int64_t seq_length;          /* L >= 1 */
    char *sequence;              /* L one-letter codes, NUL-terminated (upper case) */
    int32_t *aatype;             /* (L) aatype tokens 0..20 */
    int32_t *residue_index;      /* (L) 0, 1, ..., L-1 */
    int64_t num_alignments;      /* N >= 1; row 0 is the query */
    int32_t *msa;                /* (N, L) msa tokens 0..21 */
    int32_t *deletion_matrix;    /* (N, L) residues deleted before each column (>= 0) */
    float *all_atom_positions;   /* (L, 37, 3) angstrom, 0 where masked; NULL without a structure */
    float *all_atom_mask;        /* (L, 37) 1 where the atom was resolved, else 0; NULL without one */
    double resolution;           /* angstrom; 0 when unknown or without a structure */
} ax_chain_features;

/* Builds features from an alignment and/or a structure chain; at least one must be non-NULL.
 *
 *  - msa: its rows become `msa` / `deletion_matrix` (mapped as above), every row in order, with
 *    no deduplication (ax_chain_features_from_msas drops duplicate rows as AlphaFold does).
 *    Without an msa, the MSA is the single row of the sequence (deletions 0), as AlphaFold does for
 *    a chain with no hits. The query (row 0) must be gap-free.
 *  - chain: a protein chain (polymer_type AX_POLYMER_PROTEIN, or AX_POLYMER_NONE with residues, as
 *    in a chain built by hand); DNA, RNA and other polymers are refused, as AlphaFold skips them.
 *    Its polymer sequence (`sequence`, every residue, resolved or not) is the sequence; atoms of
 *    residues with seq_index >= 0 are placed at [seq_index][atom37_index(name)] with mask 1;
 *    names outside atom37 (hydrogens, ...) are skipped, unresolved residues keep mask 0. A
 *    modified residue read as its parent (a name that is not one of the 20 with a one_letter
 *    other than 'X', e.g. HYP as 'P') keeps only the atoms its parent has (ax_restype_has_atom37)
 *    and OXT. MSE's selenium is already named SD by the parsers. Arginines (one_letter 'R') follow
 *    AlphaFold's naming: when CD, NH1 and NH2 are all resolved and NH1 is farther from CD than
 *    NH2, the two nitrogens' positions are swapped. Coordinates are otherwise copied as written
 *    (no alternate-location choice beyond the parser's).
 *  - With both, the query must have the chain's length and letters, except that an 'X' on either
 *    side matches any letter (a residue without a known parent reads as 'X' from a structure); the
 *    sequence then takes the letter that is not 'X'. Without a chain, the sequence is the query row.
 *  - resolution: stored as given (pass ax_structure.resolution); ignored without a chain.
 *
 * Errors: AX_ERR_INVALID_ARGUMENT for NULL out, both inputs NULL, a chain without polymer
 * residues, a chain that is not a protein ("chain B: polymer type DNA, not protein; ..."), a
 * query with a gap ("msa: query row has a gap at position 5 (1-based)"), a length or letter
 * mismatch ("msa query and chain A differ at position 12 (1-based): msa 'K', chain 'R'",
 * "msa query has 431 columns but chain A has 137 residues"), a residue's seq_index outside the
 * sequence; AX_ERR_OUT_OF_MEMORY. On failure *out is NULL and nothing is leaked. */
AX_API ax_status ax_chain_features_create(const ax_msa *msa, const ax_chain *chain, double resolution,
                                          ax_chain_features **out);

/* How ax_chain_features_from_msas merges alignments. NULL means the defaults (AlphaFold's rules);
 * start from AX_CHAIN_FEATURES_CONFIG_INIT so that fields added later get their defaults. */
typedef struct ax_chain_features_config {
    size_t struct_size;      /* sizeof(ax_chain_features_config); set by the _INIT macro */
    int keep_duplicate_rows; /* nonzero: keep every row of every alignment (no deduplication). Default 0 */
} ax_chain_features_config;

#define AX_CHAIN_FEATURES_CONFIG_INIT { sizeof(ax_chain_features_config), 0 }

/* Builds features from several alignments of the same query (say uniref90.sto, bfd.a3m,
 * mgnify.sto) and/or a structure chain, as AlphaFold's make_msa_features does:
 *
 *  - Rows are taken in order: every row of msas[0], then of msas[1], ... Row 0 is msas[0]'s query,
 *    checked against `chain` exactly as ax_chain_features_create checks its msa (same rules, same
 *    messages); the queries of the other alignments are ordinary rows.
 *  - Deduplication (unless cfg->keep_duplicate_rows): a row is dropped when an earlier kept row,
 *    in the same alignment or an earlier one, has the same aligned letters, i.e. the same
 *    ax_msa.residues bytes (match columns only: insertions are already counted as deletions, so
 *    rows that differ only in inserted residues are duplicates). Letters are compared, not
 *    tokens: 'B' and 'D' both become token 3, but rows "ACDE" and "ACBE" are both kept. The
 *    deletions of the first occurrence are kept. Later copies of the query are therefore dropped.
 *  - num_msas == 0 (msas may then be NULL) gives the features of the chain alone, as
 *    ax_chain_features_create(NULL, chain, ...) does.
 *
 * ax_chain_features_create(msa, ...) is this function with one alignment and
 * keep_duplicate_rows = 1; call this one to match AlphaFold for one alignment too.
 *
 * Cost: one pass over every input row (a 64-bit hash of its num_cols letters, a comparison with
 * earlier rows of equal hash only), so O(total rows x num_cols); one thread. Memory: the features
 * plus at most 80 bytes per input row while building. The inputs are only read.
 *
 * Errors: AX_ERR_INVALID_ARGUMENT for NULL out, num_msas < 0, NULL msas with num_msas > 0, a NULL
 * or empty alignment ("msas[1]: NULL"), alignments with different column counts ("msas[2] has 120
 * columns but msas[0] has 431"), a character outside letters, '-' and '.' or a negative deletion
 * in any row ("msas[1]: row 7 column 3 has character 0x2a", 0-based), a bad cfg->struct_size,
 * num_msas == 0 without a chain, and every error of ax_chain_features_create; AX_ERR_OUT_OF_MEMORY.
 * On failure *out is NULL and nothing is leaked. */
AX_API ax_status ax_chain_features_from_msas(const ax_msa *const *msas, int64_t num_msas, const ax_chain *chain,
                                             double resolution, const ax_chain_features_config *cfg,
                                             ax_chain_features **out);

/* Features of a bare sequence (a FASTA record): the MSA is that one row. Letters A-Z in either case
 * are accepted (upper-cased); anything else is AX_ERR_INVALID_ARGUMENT naming the 1-based position
 * and character, as is an empty sequence. No structure (the atom arrays are NULL). */
AX_API ax_status ax_chain_features_from_sequence(const char *sequence, ax_chain_features **out);

/* Allocates a zero-filled feature set to be filled by the caller (a feature-store reader, a test):
 * sequence holds L letters 'X' and a NUL, aatype is 20, residue_index 0..L-1, msa and
 * deletion_matrix are zero; the atom arrays are allocated (zeroed) only when with_structure is
 * nonzero. Errors: AX_ERR_INVALID_ARGUMENT (NULL out, seq_length < 1, num_alignments < 1, sizes
 * that overflow), AX_ERR_OUT_OF_MEMORY. */
AX_API ax_status ax_chain_features_alloc(int64_t seq_length, int64_t num_alignments, int with_structure,
                                         ax_chain_features **out);

/* Frees the features and every member. Accepts NULL. */
AX_API void ax_chain_features_destroy(ax_chain_features *features);

/* ------------------------------------------------------------------------------------------------
 * Training batches
 *
 * Steps, in order (AlphaFold2 supplement 1.2.5-1.2.9 and its data transforms; docs/features.md).
 * The supplement's MSA block deletion (training only; not in AF2's released input pipeline) is not
 * done: a caller who wants it deletes blocks of rows before building the features.
 *
 *  1. Crop: L = min(crop_size, seq_length) consecutive residues starting at a uniformly random
 *     crop_start in [0, seq_length - L]. Everything below works on the cropped columns only (AF2
 *     crops last; cropping first makes the cost proportional to the crop, and differs from AF2
 *     only in that cluster assignment counts agreement inside the crop window).
 *  2. MSA sampling: the query stays row 0; the other rows are shuffled (uniformly). The first
 *     C = min(max_msa_clusters, N) rows in that order are cluster centres, the remaining R = N - C
 *     are "remaining rows"; the first E = min(max_extra_msa, R) of those are the extra MSA.
 *  3. Masked MSA on the centres: each position is selected independently with probability
 *     masked_msa_fraction (bert_mask = 1). A selected position becomes: with probability
 *     uniform_prob a uniformly random amino acid (0..19), with profile_prob a token drawn from the
 *     column's MSA profile (the frequencies of tokens 0..21 over all N rows in that column), with
 *     same_prob its own token, and otherwise (1 - the three) the mask token 22. Defaults
 *     0.15 / 0.1 / 0.1 / 0.1 (so 70% of selected positions become 22). true_msa keeps the tokens
 *     before masking.
 *  4. Cluster assignment: every remaining row (all R, not only the extra ones) goes to the centre
 *     with which it agrees at the most positions, where agreement means the same token in 0..20
 *     (gaps and the mask token never agree: AF2's weights 1 for 21 tokens, 0 for gap and mask),
 *     compared against the masked centres (the most agreeing positions, which is not the fewest
 *     differing ones: a row AAAA goes to AAAC before AA--). Ties go to the lowest centre index
 *     (the query first).
 *  5. cluster_profile[c, i, :] = (one_hot23(msa[c, i]) + sum of one_hot23 over the rows assigned to
 *     c) / (1 + n_c); cluster_deletion_mean likewise over deletion counts. Each profile row sums
 *     to 1 (AF2 adds 1e-6 to the count; the count is never 0 here, so it is left out: values
 *     differ from AF2's by up to about 1e-6 relative).
 *  6. msa_feat[c, i, :] (49 channels) = one_hot23(msa[c, i]) | has_deletion | deletion_value |
 *     cluster_profile (23) | deletion_mean_value, with has_deletion = min(d, 1),
 *     deletion_value = 2/pi * atan(d / 3), deletion_mean_value = 2/pi * atan(mean / 3).
 *  7. target_feat[i, :] (22 channels) = between_segment_residues (always 0 for one chain) |
 *     one_hot21(aatype[i]) -- AF2's order: the flag is channel 0, aatype a is channel 1 + a.
 *
 * No padding: shapes are the actual C, E and L (all masks would be 1).
 * Randomness: one xoshiro256** stream seeded from `seed` (through splitmix64) drives the crop, the
 * shuffle and the masking, so (features, config) -> batch is a pure function: the same seed gives
 * byte-identical batches, with either assignment kernel. The random draws (and so every integer
 * output) are the same on every platform; the float features use the C library's atan, so they
 * can differ in the last bit between C libraries.
 * ---------------------------------------------------------------------------------------------- */

typedef struct ax_feature_batch_config {
    size_t struct_size;             /* sizeof(ax_feature_batch_config); set by the _INIT macro */
    uint64_t seed;                  /* any value; 0 is fine */
    int64_t crop_size;              /* residues per crop; <= 0 keeps the whole chain. Default 256 */
    int64_t max_msa_clusters;       /* C cap, >= 1 (the query is always a centre). Default 128 */
    int64_t max_extra_msa;          /* E cap, >= 0. Default 1024 */
    float masked_msa_fraction;      /* in [0, 1]. Default 0.15 */
    float masked_msa_uniform_prob;  /* in [0, 1]; the three sum to <= 1. Default 0.1 */
    float masked_msa_profile_prob;  /* Default 0.1 */
    float masked_msa_same_prob;     /* Default 0.1 */
} ax_feature_batch_config;

#define AX_FEATURE_BATCH_CONFIG_INIT \
    { sizeof(ax_feature_batch_config), 0, 256, 128, 1024, 0.15f, 0.1f, 0.1f, 0.1f }

/* A training batch: every tensor is a contiguous CPU ax_tensor whose memory the batch owns (one
 * block, freed by ax_feature_batch_destroy); pass them straight to Axial ops or copy them to a
 * device. Tensors of size 0 (E = 0, R = 0) have data NULL. L = num_res, C = num_clusters,
 * E = num_extra, R = num_remaining. */
typedef struct ax_feature_batch {
    int64_t num_res;                 /* L: cropped length */
    int64_t crop_start;              /* first residue of the crop, in chain positions */
    int64_t num_clusters;            /* C */
    int64_t num_extra;               /* E */
    int64_t num_remaining;           /* R = num_alignments - C (E of them are the extra MSA) */
    ax_tensor aatype;                /* (L) i32 */
    ax_tensor residue_index;         /* (L) i32: features->residue_index of the cropped residues */
    ax_tensor target_feat;           /* (L, 22) f32 */
    ax_tensor msa;                   /* (C, L) i32: masked cluster centres (tokens 0..22) */
    ax_tensor true_msa;              /* (C, L) i32: the centres before masking (0..21) */
    ax_tensor bert_mask;             /* (C, L) f32: 1 where a position was selected for masking */
    ax_tensor deletion_matrix;       /* (C, L) i32: the centres' deletions */
    ax_tensor cluster_profile;       /* (C, L, 23) f32 */
    ax_tensor cluster_deletion_mean; /* (C, L) f32 */
    ax_tensor msa_feat;              /* (C, L, 49) f32 */
    ax_tensor extra_msa;             /* (E, L) i32 (0..21) */
    ax_tensor extra_has_deletion;    /* (E, L) f32 */
    ax_tensor extra_deletion_value;  /* (E, L) f32 */
    ax_tensor msa_row;               /* (C + R) i64: source MSA row of each sampled row; [0] = 0 */
    ax_tensor cluster_assignment;    /* (R) i32: centre of remaining row r (source row msa_row[C + r]) */
    ax_tensor all_atom_positions;    /* (L, 37, 3) f32, or ndim 0 and data NULL without a structure */
    ax_tensor all_atom_mask;         /* (L, 37) f32, or ndim 0 and data NULL without a structure */
} ax_feature_batch;

/* Builds a batch from chain features (see the steps above). cfg NULL means the defaults.
 * Cost: one thread; O(R * C * L) byte comparisons for the assignment (vectorised with AVX2 when the
 * CPU has it, same result either way) plus one read of the crop of every row, O(N * L). Memory: the
 * outputs (about 4 * L * (77 * C + 3 * E + 22) bytes) plus about R * L bytes of scratch while building.
 * Only the cropped columns of `features` are read and validated.
 * Errors: AX_ERR_INVALID_ARGUMENT for NULL features/out, a bad struct_size, max_msa_clusters < 1,
 * max_extra_msa < 0, probabilities outside [0, 1] or summing above 1, features whose arrays are
 * NULL, whose aatype is outside 0..20, whose msa tokens are outside 0..21 or whose deletions are
 * negative (naming the row and column); AX_ERR_OUT_OF_MEMORY. On failure *out is NULL. */
AX_API ax_status ax_feature_batch_create(const ax_chain_features *features, const ax_feature_batch_config *cfg,
                                         ax_feature_batch **out);

/* Frees a batch and all its tensors' memory. Accepts NULL. */
AX_API void ax_feature_batch_destroy(ax_feature_batch *batch);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_FEATURES_H */

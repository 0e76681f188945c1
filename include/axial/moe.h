/*
 * moe.h — Mixture of Experts: routing (top-k gating with capacity, load-balancing and z losses),
 * dispatch of token rows into expert-contiguous order and the weighted combine back, a grouped GEMM
 * over experts (float and block-quantized weights), the SwiGLU MoE feed-forward layer with an
 * optional dense residual MLP (PR-MoE), forward and backward, and its expert-parallel form over a
 * communicator (comm.h). CPU and CUDA.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Conventions are those of axial.h (status codes, ax_last_error, caller-owned tensors, strides in
 * elements). See docs/moe.md for the semantics in prose, the scaling model of expert parallelism
 * and measured speed. Names used below:
 *   T  tokens (rows of x)          E  experts (router outputs)     k  experts chosen per token
 *   D  model width                 F  expert hidden width          R  rows of an expert-sorted buffer
 *
 * Common to every function here:
 *  - ctx is a CPU or CUDA context and every tensor must live on its device (host pointers on a CPU
 *    context, device pointers on a CUDA one). Index tensors (expert ids, rows, offsets) are device
 *    data like the others.
 *  - Float computation is fp32; each stored result is rounded once (nearest even) into its dtype.
 *  - Outputs must not overlap inputs or each other (AX_ERR_INVALID_ARGUMENT).
 *  - Errors: AX_ERR_INVALID_ARGUMENT naming the argument and dimension (shape, dtype, device, stride,
 *    overlap, a scalar, an index out of range), returned before anything is written;
 *    AX_ERR_UNSUPPORTED for a combination a backend cannot run (named); AX_ERR_OUT_OF_MEMORY when
 *    scratch exceeds the context's workspace limit; AX_ERR_CUDA.
 *  - CUDA: queued on the context's stream; the single-rank ops never synchronise the host. Index
 *    data on the device is therefore not validated by the host: on CUDA an expert id outside
 *    [-1, E) is treated as a dropped choice (-1) and offsets are clamped into [0, R], so bad
 *    indices never cause an out-of-bounds access; on the CPU they are errors, as documented per
 *    function.
 *  - Thread-safe with distinct contexts. Empty problems (T = 0) are valid.
 */
#ifndef AXIAL_MOE_H
#define AXIAL_MOE_H

#include "axial/axial.h"
#include "axial/comm.h"
#include "axial/linalg.h"
#include "axial/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * Routing
 * ---------------------------------------------------------------------------------------------- */

typedef enum ax_moe_gating {
    AX_MOE_SOFTMAX_TOPK = 0, /* p = softmax(logits) over the E experts, then the k largest p */
    AX_MOE_SIGMOID_TOPK = 1  /* p = sigmoid(logits) per expert, then the k largest p */
} ax_moe_gating;

typedef struct ax_moe_route_config {
    int32_t top_k;          /* k, 1 <= k <= E */
    ax_moe_gating gating;
    int32_t normalize;      /* nonzero: the kept weights of a token are divided by their sum */
    float capacity_factor;  /* 0: no capacity (no token dropped); > 0: capacity as below */
    int64_t min_capacity;   /* >= 0: the capacity is at least this (ignored without a capacity) */
} ax_moe_route_config;

/* Default: top-2 softmax gating, renormalised, no capacity. */
#define AX_MOE_ROUTE_CONFIG_INIT { 2, AX_MOE_SOFTMAX_TOPK, 1, 0.0f, 0 }

/* Routes T tokens to k of E experts each.
 *
 *   logits      (T, E) f32, bf16 or f16; last dim contiguous
 *   expert_ids  (T, k) i32, out: choice j of token t, in order of decreasing p (choice 0 is the
 *               largest); -1 where the choice was dropped by the capacity
 *   weights     (T, k) f32, out: the combine weight of each choice (0 for a dropped one)
 *   probs       NULL or (T, E) f32, out: the gating probabilities p
 *   losses      NULL or (2) f32, out: [aux, z] as defined below
 *
 * Selection: the k largest p of a token; ties go to the lowest expert id (NaN logits are an input
 * error the op does not detect: their order is unspecified but ids stay in range; with softmax
 * gating a row of all -inf or any +inf gives NaN p, weights and losses, the losses for the whole
 * call; with sigmoid gating -inf gives p 0 and +inf p 1, and only the z loss, a logsumexp of the
 * logits, is NaN). The weight of a
 * kept choice is its p; with cfg->normalize, the kept weights of a token are divided by their sum
 * (over kept choices only, as DeepSpeed's top-2 gating does after dropping; a token with nothing
 * kept gets all-zero weights, and so does one whose kept p all underflow to 0: sigmoid gating with
 * logits below about -88, or softmax kept choices ~100 below a dropped first choice). Without
 * normalize, softmax weights of k = E sum to 1 anyway.
 *
 * Capacity (GShard / DeepSpeed-MoE): with capacity_factor > 0 every expert takes at most
 *     C = max(min_capacity, ceil(T * capacity_factor / E))   (taken as T when above it: an expert
 *                                                              never gets more than T choices)
 * choices (of T * k: DeepSpeed's top-k gating and GShard's top-2 scale their factor by k, so their
 * factor f is capacity_factor = k * f here). Slots are filled in priority order: every token's
 * choice 0 in token order, then every token's choice 1, and so on; a choice arriving at a full
 * expert is dropped (id -1, weight 0). For k <= 2 that is DeepSpeed's top-1 / top-2 gating with its
 * random token selection and noisy second choice off; its top-k gating (k > 2) drops by gate value
 * or by token order instead (docs/moe.md).
 *
 * Losses (per call, over the call's T tokens; 0 when T = 0):
 *   aux = E * sum_e f_e * P_e   (load balancing; 1 when perfectly balanced)
 *         f_e = (number of choices (t, j) that selected e, before capacity dropping) / (T * k)
 *         P_e = (1 / T) * sum_t p[t, e]
 *     For k = 1 this is the Switch / GShard / DeepSpeed-MoE l_aux; Hugging Face's Mixtral
 *     load_balancing_loss sums f over the k choices without dividing by k, i.e. k times this value.
 *     For k = 2, DeepSpeed's and GShard's top-2 gating count f_e over the first choices only.
 *   z   = (1 / T) * sum_t (logsumexp_e logits[t, e])^2   (ST-MoE router z-loss)
 *
 * Errors: AX_ERR_INVALID_ARGUMENT for NULL cfg, logits, expert_ids or weights; k outside [1, E];
 * E < 1; gating not in the enum; capacity_factor negative or not finite; min_capacity < 0; shapes
 * or dtypes off the list. CUDA: one launch per stage, no host synchronisation. */
AX_API ax_status ax_moe_route(ax_context *ctx, const ax_moe_route_config *cfg, const ax_tensor *logits,
                              ax_tensor *expert_ids, ax_tensor *weights, ax_tensor *probs, ax_tensor *losses);

/* Gradient of  L = sum_{t,j} dweights[t, j] * weights[t, j] + aux_coef * aux + z_coef * z  with
 * respect to the logits, for ax_moe_route with the same cfg and logits. The selection and the
 * dropping are recomputed from the logits (they are identical to the forward's, deterministic) and
 * held constant, as in every MoE implementation: only p carries a gradient (through the weights'
 * p and normalisation, through P_e of aux, and through the logsumexp of z; f_e carries none).
 *
 *   logits    (T, E) f32, bf16 or f16: the forward's
 *   dweights  NULL (no weight gradient) or (T, k) f32
 *   aux_coef, z_coef  finite scalars (0 to leave a loss out)
 *   dlogits   (T, E) f32 or logits' dtype, out (overwritten)
 *
 * Errors: as ax_moe_route, plus a non-finite coefficient. */
AX_API ax_status ax_moe_route_backward(ax_context *ctx, const ax_moe_route_config *cfg, const ax_tensor *logits,
                                       const ax_tensor *dweights, float aux_coef, float z_coef,
                                       ax_tensor *dlogits);

/* ------------------------------------------------------------------------------------------------
 * Dispatch and combine
 * ---------------------------------------------------------------------------------------------- */

/* Permutes token rows into expert-contiguous order: the row of every kept choice (t, j) is copied
 * into the segment of its expert, segments in expert order, rows within a segment in increasing
 * (t, j) order (so the result is deterministic).
 *
 *   x           (T, D) f32, bf16 or f16; last dim contiguous
 *   expert_ids  (T, k) i32: ids in [0, E), or -1 for a choice to skip (ax_moe_route's output)
 *   num_experts E >= 1
 *   align       >= 1: every segment starts at a multiple of align rows (for kernels that want
 *               whole tiles); the padding rows between segments are set to zero
 *   x_sorted    (R, D) x's dtype, out; R >= T * k + E * (align - 1), the most any routing needs.
 *               Rows [0, offsets[E]) are written (copies and zero padding); rows past them are not.
 *   offsets     (E + 1) i64, out: segment e is rows [offsets[e], offsets[e + 1]), padding included;
 *               offsets[0] = 0, offsets[e + 1] = offsets[e] + round_up(count_e, align)
 *   counts      NULL or (E) i64, out: count_e, the rows routed to expert e (padding excluded)
 *   rows        (T, k) i64, out: the row of x_sorted that choice (t, j) went to, -1 if skipped;
 *               what ax_moe_combine and ax_moe_combine_backward take
 *
 * The backward of the dispatch (dx from dx_sorted) is ax_moe_combine with weights NULL.
 * Errors: as above; an id outside [-1, E) on the CPU names the token and choice; R too small. */
AX_API ax_status ax_moe_dispatch(ax_context *ctx, const ax_tensor *x, const ax_tensor *expert_ids,
                                 int64_t num_experts, int64_t align, ax_tensor *x_sorted, ax_tensor *offsets,
                                 ax_tensor *counts, ax_tensor *rows);

/* The weighted un-permute:
 *     y[t, :] = sum over j with rows[t, j] >= 0 of weights[t, j] * y_sorted[rows[t, j], :]
 * summed in fp32 in increasing j, rounded once (a token with no kept choice gets zeros).
 *
 *   y_sorted  (R, D) f32, bf16 or f16
 *   rows      (T, k) i64: rows of y_sorted, or -1 (ax_moe_dispatch's output)
 *   weights   NULL (weight 1: the dispatch's backward, dx = sum of the copies' gradients) or (T, k) f32
 *   y         (T, D) f32 or y_sorted's dtype, out
 * Errors: as above; on the CPU a row outside [-1, R) names the token and choice. */
AX_API ax_status ax_moe_combine(ax_context *ctx, const ax_tensor *y_sorted, const ax_tensor *rows,
                                const ax_tensor *weights, ax_tensor *y);

/* Backward of ax_moe_combine:
 *     dy_sorted[rows[t, j], :] = weights[t, j] * dy[t, :]      (every other row of dy_sorted = 0)
 *     dweights[t, j] = sum_d dy[t, d] * y_sorted[rows[t, j], d]   (0 for a skipped choice)
 *
 *   dy         (T, D) f32, bf16 or f16
 *   y_sorted   (R, D): the forward's input; may be NULL when dweights is NULL
 *   rows       (T, k) i64;  weights  NULL (weight 1) or (T, k) f32
 *   dy_sorted  (R, D) f32 or dy's dtype, out: every row written (the padding and unreferenced rows
 *              with zeros, so a grouped GEMM over whole segments sees no garbage)
 *   dweights   NULL or (T, k) f32, out
 * Each row of y_sorted must be referenced at most once (as ax_moe_dispatch makes them): on the CPU a
 * repeated row is AX_ERR_INVALID_ARGUMENT naming both choices. */
AX_API ax_status ax_moe_combine_backward(ax_context *ctx, const ax_tensor *dy, const ax_tensor *y_sorted,
                                         const ax_tensor *rows, const ax_tensor *weights, ax_tensor *dy_sorted,
                                         ax_tensor *dweights);

/* ------------------------------------------------------------------------------------------------
 * Grouped GEMM over experts
 * ---------------------------------------------------------------------------------------------- */

/* For every expert e, on its segment s_e = rows [offsets[e], offsets[e + 1]) of x and y:
 *     trans_w == AX_TRANS:     y[s_e, :] = x[s_e, :] @ w[e]^T    w (E, N, K): GGUF's layout of a
 *                                                                 3-D expert tensor, experts outermost
 *     trans_w == AX_NO_TRANS:  y[s_e, :] = x[s_e, :] @ w[e]      w (E, K, N)  (float w only)
 *
 *   x        (R, K) f32 or bf16; K contiguous
 *   w        f32, bf16, f16, or (AX_TRANS only) a block-quantized GGUF type (q4_0, q4_1, q8_0, q4_k,
 *            q6_k; K a multiple of the block; rows step by whole blocks)
 *   offsets  (E + 1) i64, nondecreasing, offsets[E] <= R (ax_moe_dispatch's output)
 *   y        (R, N) f32 or bf16, out; rows outside [offsets[0], offsets[E]) are not written
 *
 * Arithmetic: float w is widened to fp32 and summed in fp32; on the CPU paths with AVX2 and FMA
 * (avx2, avx512) each element of y is the fused multiply-add chain over k = 0..K-1 in order, so with
 * float w too a row's result does not depend on the rows around it or the thread count (the portable
 * path runs OpenBLAS's sgemm per work item, which promises neither). Quantized w is multiplied as
 * ax_qmatmul does (linalg.h): on the CPU each row of y is bit for bit ax_qmatmul's result for that
 * row of x with w[e] (x quantized to int8 per row; so a token's result does not depend on the other
 * tokens routed with it); CUDA decodes w's blocks and does not quantize x.
 * CPU: one OpenMP parallel region over (expert, column tile[, row tile]) work items balanced by FLOPs, not a
 * loop of per-expert calls; scratch from the context's workspace.
 * CUDA: an own grouped kernel reading offsets on the device (no host synchronisation).
 * Errors: as above; on the CPU offsets not nondecreasing within [0, R], and AX_ERR_UNSUPPORTED for
 * R, N, K or a row stride above INT_MAX (the CPU kernels may call a 32-bit BLAS). */
AX_API ax_status ax_moe_grouped_gemm(ax_context *ctx, ax_transpose trans_w, const ax_tensor *x,
                                     const ax_tensor *w, const ax_tensor *offsets, ax_tensor *y);

/* The expert weight gradient of the AX_TRANS product above:
 *     dw[e] = dy[s_e, :]^T @ x[s_e, :] + beta * dw[e]     dw (E, N, K)
 * (an expert with no rows gets beta * dw[e]; beta == 0 does not read dw).
 *   dy (R, N) and x (R, K): f32 or bf16, one dtype;  dw (E, N, K) f32, out (in-out when beta != 0)
 * Errors: as above (the same INT_MAX limit on the CPU). */
AX_API ax_status ax_moe_grouped_gemm_dw(ax_context *ctx, const ax_tensor *dy, const ax_tensor *x,
                                        const ax_tensor *offsets, float beta, ax_tensor *dw);

/* ------------------------------------------------------------------------------------------------
 * The MoE feed-forward layer (SwiGLU experts, optional dense residual MLP: PR-MoE)
 * ---------------------------------------------------------------------------------------------- */

typedef struct ax_moe_ffn_config {
    ax_moe_route_config route;
    ax_activation_kind act; /* the experts' gate activation: AX_ACT_SILU for SwiGLU */
    float aux_coef;         /* backward: weight of the aux loss in the objective (0 = none) */
    float z_coef;           /* backward: weight of the router z-loss (0 = none) */
} ax_moe_ffn_config;

#define AX_MOE_FFN_CONFIG_INIT { AX_MOE_ROUTE_CONFIG_INIT, AX_ACT_SILU, 0.0f, 0.0f }

/* The layer's weights, GGUF's layouts (row-major shapes; E_here = E on one rank, the local experts
 * under expert parallelism):
 *   router      (E, D)                           logits = x @ router^T
 *   gate, up    (E_here, F, D)                   expert e: h = act(x @ gate[e]^T) * (x @ up[e]^T)
 *   down        (E_here, D, F)                   expert e: out = h @ down[e]^T
 *   dense_gate, dense_up (Fd, D), dense_down (D, Fd): the residual MLP of PR-MoE, all three or none
 * Forward: each weight f32, bf16 or f16 (a GGUF file's unquantized types), and the expert and dense
 * weights also the block-quantized types of ax_moe_grouped_gemm (inference). Backward: f32 only. */
typedef struct ax_moe_ffn_weights {
    const ax_tensor *router;
    const ax_tensor *gate, *up, *down;
    const ax_tensor *dense_gate, *dense_up, *dense_down;
} ax_moe_ffn_weights;

/* Gradients, each f32 with its weight's shape; any may be NULL (not computed). */
typedef struct ax_moe_ffn_grads {
    ax_tensor *router;
    ax_tensor *gate, *up, *down;
    ax_tensor *dense_gate, *dense_up, *dense_down;
} ax_moe_ffn_grads;

/* y = sum_j weights[t, j] * expert_{ids[t, j]}(x[t]) (+ dense_mlp(x[t]) with PR-MoE), routed by
 * ax_moe_route on x @ router^T.
 *   x       (T, D) f32 or bf16, rows contiguous in D
 *   y       (T, D) x's dtype or f32, out
 *   losses  NULL or (2) f32, out: ax_moe_route's [aux, z] for these tokens
 * "Per-layer expert counts" (PR-MoE's pyramid) need nothing special: every call takes its own E.
 * Layouts: every matrix the layer hands to a product (x, the weights, dx, the gradients, and y/dy
 * with PR-MoE) has its last dim contiguous and its rows apart (row stride >= row length; experts at
 * a stride >= 0); on the CPU sizes and row strides above INT_MAX are AX_ERR_UNSUPPORTED. Checked
 * before anything is written.
 * Scratch: the routing, the sorted rows and the expert activations, from the context's workspace
 * (about T * k * (D + 3 F) floats). */
AX_API ax_status ax_moe_ffn_forward(ax_context *ctx, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                                    const ax_moe_ffn_weights *w, ax_tensor *y, ax_tensor *losses);

/* Backward of ax_moe_ffn_forward for the objective  sum(dy * y) + aux_coef * aux + z_coef * z.
 * The forward's intermediates are recomputed from x (as activation checkpointing does), so the
 * caller keeps nothing between the passes. dx (T, D) f32, out (may be NULL); grads overwritten.
 * Backward dtypes: f32 everywhere. Arguments are checked before anything is written; a failure past
 * the checks (out of memory in a later step, a device error) may leave dx and the gradients partly
 * written (the forward writes y and the losses last: y by its final step, the losses after it). */
AX_API ax_status ax_moe_ffn_backward(ax_context *ctx, const ax_moe_ffn_config *cfg, const ax_tensor *x,
                                     const ax_moe_ffn_weights *w, const ax_tensor *dy, ax_tensor *dx,
                                     const ax_moe_ffn_grads *grads);

/* ------------------------------------------------------------------------------------------------
 * Expert parallelism (every rank of `comm` calls; see comm.h for the launch, the agreement check,
 * devices and measure mode)
 * ---------------------------------------------------------------------------------------------- */

/* The MoE layer with its experts sharded over the ranks of `comm` (the expert-parallel group): rank
 * r holds experts [offset(r), offset(r) + count(r)) of E by the shard rule (ax_shard_range), in
 * w->gate/up/down (E_here = count(r)); the router (E, D) and the dense residual MLP are replicated
 * (each rank its copy). Each rank routes its own T_r tokens (T_r free per rank), sends each kept
 * choice's row to the rank of its expert with ax_all_to_all_v (counts first, uneven sizes), runs
 * its experts on what arrives, and sends the results back to be combined. The result on every rank
 * equals ax_moe_ffn_forward on that rank's tokens with all E experts. losses: this rank's tokens.
 *
 * Hybrid expert + data parallelism (DeepSpeed-MoE's layout): split the world into expert-parallel
 * groups (MPI_Comm_split) and pass the group's communicator here; ranks holding the same experts in
 * different groups form a data-parallel group over which the caller all-reduces expert gradients
 * (ax_all_reduce), while the router and dense gradients are all-reduced over the whole world.
 *
 * Agreement: E, D, F, Fd, k, gating, normalize, capacity, act, dtypes and the local expert counts
 * (shard rule) are checked across ranks before any data moves; a mismatch is AX_ERR_INVALID_ARGUMENT
 * on every rank with nothing written. A failure of a local step on one rank is returned on every rank.
 * Host synchronisation: the per-rank row counts travel as host arrays, so on CUDA the call reads the
 * per-expert counts back once per call (a stream synchronisation) and uploads the regrouping ids
 * once (a blocking copy); the rest stays on the stream.
 * Measure mode counts this rank's own scratch (routing, sorted rows, the combine) together with the
 * most that the rows other ranks send it can need under any routing (their number is known only
 * from the counts exchange, which measure mode does not make): each of rank r's T_r tokens sends at
 * most min(k, E_here) rows here, and with a capacity C_r (from T_r) at most E_here * C_r in all; the
 * T_r travel in one MPI_Allgather. A workspace_limit of what it reports lets the real call through
 * whatever the routing. In a real call the limit bounds both blocks together (they are held at
 * once): a rank whose two blocks exceed it fails with AX_ERR_OUT_OF_MEMORY after the counts
 * exchange, on every rank.
 * Errors: those of comm.h's collectives plus ax_moe_ffn_forward's. */
AX_API ax_status ax_moe_ffn_forward_ep(ax_context *ctx, ax_comm *comm, const ax_moe_ffn_config *cfg,
                                       const ax_tensor *x, const ax_moe_ffn_weights *w, ax_tensor *y,
                                       ax_tensor *losses);

/* Backward of ax_moe_ffn_forward_ep (recomputes the forward, as ax_moe_ffn_backward). dx is this
 * rank's tokens' gradient. The local experts' gradients are complete for the group's tokens (every
 * rank's rows reach them); the router and dense gradients cover this rank's tokens only (sum them
 * over ranks as data parallelism does). Equals, rank by rank, ax_moe_ffn_backward on that rank's
 * tokens with all E experts, the expert gradients summed over the ranks (routing, capacity and the
 * losses are per rank, as in the forward; checked by tests under mpiexec -n 2 and -n 4). */
AX_API ax_status ax_moe_ffn_backward_ep(ax_context *ctx, ax_comm *comm, const ax_moe_ffn_config *cfg,
                                        const ax_tensor *x, const ax_moe_ffn_weights *w, const ax_tensor *dy,
                                        ax_tensor *dx, const ax_moe_ffn_grads *grads);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_MOE_H */

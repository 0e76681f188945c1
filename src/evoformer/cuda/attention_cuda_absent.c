/*
 * attention_cuda_absent.c — the CUDA backend of Evoformer attention for builds without CUDA: every
 * entry point says clearly that this build has none.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"
#include "evoformer/evoformer_params.h"

#define NO_CUDA_MESSAGE "this build of Axial has no CUDA (AXIAL_CUDA=OFF)"

ax_status evo_attn_cuda_supports(const evo_attn_params *p, int backward) {
    (void)p;
    (void)backward;
    return ax_set_error(AX_ERR_UNSUPPORTED, NO_CUDA_MESSAGE);
}

ax_status evo_attn_forward_cuda(struct ax_context *ctx, const evo_attn_params *p) {
    (void)ctx;
    (void)p;
    return ax_set_error(AX_ERR_UNSUPPORTED, NO_CUDA_MESSAGE);
}

ax_status evo_attn_backward_cuda(struct ax_context *ctx, const evo_attn_params *p) {
    (void)ctx;
    (void)p;
    return ax_set_error(AX_ERR_UNSUPPORTED, NO_CUDA_MESSAGE);
}

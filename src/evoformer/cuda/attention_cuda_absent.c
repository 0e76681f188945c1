/*
 * attention_cuda_absent.c — Evoformer attention's CUDA entry points for builds without CUDA.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "core/internal.h"
#include "evoformer/evoformer_params.h"

ax_status evo_attn_cuda_supports(const evo_attn_params *p, int backward) {
    (void)p; (void)backward;
    return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA (AXIAL_CUDA=OFF)");
}

ax_status evo_attn_forward_cuda(struct ax_context *ctx, const evo_attn_params *p) {
    (void)ctx; (void)p;
    return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA (AXIAL_CUDA=OFF)");
}

ax_status evo_attn_backward_cuda(struct ax_context *ctx, const evo_attn_params *p) {
    (void)ctx; (void)p;
    return ax_set_error(AX_ERR_UNSUPPORTED, "this build of Axial has no CUDA (AXIAL_CUDA=OFF)");
}

/* A downstream program: includes the installed headers, makes a context, fills a tensor, and calls an
 * op (refused: q is NULL), which links in the op table and every backend, CUDA kernels included (a
 * static link had then missed libstdc++). */
#include <axial/attention.h>
#include <axial/axial.h>
#include <stdio.h>
int main(void) {
    ax_context *ctx = NULL;
    float data[6] = {0};
    const int64_t shape[2] = {2, 3};
    ax_tensor t;
    if (ax_context_create(&ctx, NULL) != AX_OK || ax_tensor_contiguous(&t, data, AX_F32, 2, shape) != AX_OK) return 1;
    if (ax_attention_forward(ctx, NULL, NULL, NULL, NULL, NULL, NULL, NULL) != AX_ERR_INVALID_ARGUMENT) return 2;
    printf("axial %s numel %lld\n", ax_version_string(), (long long)ax_tensor_numel(&t));
    ax_context_destroy(ctx);
    return 0;
}

/* A downstream program: includes the installed header, makes a context, fills a tensor. */
#include <axial/axial.h>
#include <stdio.h>
int main(void) {
    ax_context *ctx = NULL;
    float data[6] = {0};
    const int64_t shape[2] = {2, 3};
    ax_tensor t;
    if (ax_context_create(&ctx, NULL) != AX_OK || ax_tensor_contiguous(&t, data, AX_F32, 2, shape) != AX_OK) return 1;
    printf("axial %s numel %lld\n", ax_version_string(), (long long)ax_tensor_numel(&t));
    ax_context_destroy(ctx);
    return 0;
}

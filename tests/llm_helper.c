/*
 * llm_helper.c — a small command the Python check (tests/python/test_llm_reference.py) drives: it
 * loads a GGUF model with ax_llm_model_load and runs a session, so a float64 NumPy decoder can judge
 * the logits and the greedy tokens. Not a test on its own.
 *
 *   llm_helper logits MODEL OUT N_BATCH ID...   the logits of every position of ID... as raw f32
 *                                               (n x n_vocab, row-major) in OUT; the prompt is fed
 *                                               in chunks of N_BATCH tokens (1 = token by token)
 *   llm_helper greedy MODEL N_NEW ID...         prints N_NEW greedy token ids after the prompt on one
 *                                               line (end tokens do not stop it)
 *   llm_helper info MODEL                       prints "n_layer n_embd n_ff n_expert n_expert_used
 *                                               weight_bytes" of ax_llm_model_get_info
 *   llm_helper tokenize MODEL TEXT              prints TEXT's ids (BOS as the file says, special-token
 *                                               text parsed: `axial tokenize`'s defaults) on one line;
 *                                               always on the CPU (the tokenizer is host code), so
 *                                               tests need not depend on the CLI, which a GPU
 *                                               machine's fallback build leaves out
 *
 * Environment: AXIAL_THREADS sets the thread count; AXIAL_DEVICE=cuda loads the model on CUDA device 0
 * (tests/python/test_llm_cuda.py), and with no CUDA device (or a build without CUDA) prints "SKIP: ..."
 * and exits 77, ctest's skip code; AXIAL_DEVICE unset, empty or "cpu" is the CPU. Exit 0 on success,
 * 3 when Axial reports an error (printed as "STATUS: message"), 2 for usage or file errors.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axial/llm.h"

static int fail(ax_status st) {
    fprintf(stderr, "%s: %s\n", ax_status_string(st), ax_last_error());
    return 3;
}

/* Reads AXIAL_DEVICE: returns 0 with *device set, or with the reason printed 77 (no CUDA device: the
 * caller's test is skipped) or 2 (a value that names no device). */
static int device_from_env(ax_device *device) {
    const char *name = getenv("AXIAL_DEVICE");
    if (name == NULL || name[0] == '\0' || strcmp(name, "cpu") == 0) {
        *device = (ax_device){AX_CPU, 0};
        return 0;
    }
    if (strcmp(name, "cuda") != 0) {
        fprintf(stderr, "llm_helper: AXIAL_DEVICE is '%s', expected cpu or cuda\n", name);
        return 2;
    }
    if (ax_cuda_device_count() < 1) {
        printf("SKIP: AXIAL_DEVICE=cuda but no CUDA device is usable (ax_cuda_device_count() = %d; a build "
               "without AXIAL_CUDA, no driver or no GPU)\n", ax_cuda_device_count());
        return 77;
    }
    *device = (ax_device){AX_CUDA, 0};
    return 0;
}

static int tokenize(const char *path, const char *text) {
    ax_llm_model_config mc = AX_LLM_MODEL_CONFIG_INIT;
    mc.num_threads = 1;
    ax_llm_model *model = NULL;
    const size_t len = strlen(text);
    /* byte-level BPE: at most one token per byte, plus BOS and EOS */
    const int64_t capacity = (int64_t)len + 2;
    int32_t *ids = malloc((size_t)capacity * sizeof *ids);
    int64_t n = 0;
    ax_status st = ids == NULL ? AX_ERR_OUT_OF_MEMORY : ax_llm_model_load(path, &mc, &model);
    if (st == AX_OK)
        st = ax_llm_tokenize(model, text, len, AX_LLM_TOKENIZE_ADD_SPECIAL | AX_LLM_TOKENIZE_PARSE_SPECIAL, ids,
                             capacity, &n);
    if (st == AX_OK) {
        for (int64_t i = 0; i < n; i++) printf("%s%d", i ? " " : "", (int)ids[i]);
        printf("\n");
    }
    const int rc = st == AX_OK ? 0 : fail(st);
    free(ids);
    ax_llm_model_free(model);
    return rc;
}

int main(int argc, char **argv) {
    const int is_logits = argc >= 6 && strcmp(argv[1], "logits") == 0;
    const int is_greedy = argc >= 5 && strcmp(argv[1], "greedy") == 0;
    const int is_info = argc == 3 && strcmp(argv[1], "info") == 0;
    const int is_tokenize = argc == 4 && strcmp(argv[1], "tokenize") == 0;
    if (!is_logits && !is_greedy && !is_info && !is_tokenize) {
        fprintf(stderr, "usage: llm_helper logits MODEL OUT N_BATCH ID... | llm_helper greedy MODEL N_NEW ID... | "
                        "llm_helper info MODEL | llm_helper tokenize MODEL TEXT\n");
        return 2;
    }
    if (is_tokenize) return tokenize(argv[2], argv[3]);
    ax_llm_model_config mc = AX_LLM_MODEL_CONFIG_INIT;
    const int device_rc = device_from_env(&mc.device);
    if (device_rc != 0) return device_rc;
    const int first_id = is_logits ? 5 : is_greedy ? 4 : 3;
    const int64_t n = argc - first_id;
    int32_t *ids = malloc((size_t)(n + 1) * sizeof *ids);
    if (ids == NULL) return 2;
    for (int64_t i = 0; i < n; i++) ids[i] = (int32_t)atol(argv[first_id + i]);

    const char *threads = getenv("AXIAL_THREADS");
    mc.num_threads = threads != NULL ? atoi(threads) : 0;
    ax_llm_model *model = NULL;
    ax_llm_session *session = NULL;
    ax_status st = ax_llm_model_load(argv[2], &mc, &model);
    int rc = 0;
    if (st != AX_OK) {
        rc = fail(st);
        goto done;
    }
    ax_llm_model_info info;
    ax_llm_model_get_info(model, &info);
    if (is_info) {
        printf("%d %d %d %d %d %lld\n", info.n_layer, info.n_embd, info.n_ff, info.n_expert, info.n_expert_used,
               (long long)info.weight_bytes);
        goto done;
    }
    ax_llm_session_config sc = AX_LLM_SESSION_CONFIG_INIT;
    sc.n_ctx = 512;
    sc.n_batch = is_logits ? atoi(argv[4]) : 0;
    st = ax_llm_session_create(model, &sc, &session);
    if (st != AX_OK) {
        rc = fail(st);
        goto done;
    }
    if (is_logits) {
        st = ax_llm_session_eval(session, ids, n, 1);
        if (st != AX_OK) {
            rc = fail(st);
            goto done;
        }
        FILE *f = fopen(argv[3], "wb");
        if (f == NULL) {
            rc = 2;
            goto done;
        }
        for (int64_t i = 0; i < n && rc == 0; i++) {
            const float *row = ax_llm_session_logits(session, i);
            if (row == NULL) {
                /* the eval succeeded, so every row must be there: a fault to report, not to write */
                fprintf(stderr, "llm_helper: no logits for token %lld of %lld\n", (long long)i, (long long)n);
                rc = 3;
            } else if (fwrite(row, sizeof(float), (size_t)info.n_vocab, f) != (size_t)info.n_vocab) {
                rc = 2;
            }
        }
        if (fclose(f) != 0) rc = 2;
        goto done;
    }
    const long n_new = atol(argv[3]);
    st = ax_llm_session_eval(session, ids, n, 0);
    for (long g = 0; g < n_new && st == AX_OK; g++) {
        int32_t tok;
        st = ax_llm_session_sample(session, NULL, 0, &tok, NULL);
        if (st == AX_OK) {
            printf("%s%d", g ? " " : "", (int)tok);
            st = ax_llm_session_eval(session, &tok, 1, 0);
        }
    }
    printf("\n");
    if (st != AX_OK) rc = fail(st);
done:
    ax_llm_session_free(session);
    ax_llm_model_free(model);
    free(ids);
    return rc;
}

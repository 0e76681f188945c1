/*
 * serving.h — an LLM serving engine on a loaded model (llm.h): a blocked KV cache shared by many
 * sequences (reference-counted blocks, prompt-prefix sharing with copy-on-write), continuous batching
 * with three scheduler policies (Dynamic SplitFuse, prefill-first, static), ragged forward passes
 * through ax_paged_attention, per-request sampling and stop conditions, and a thread-safe request
 * queue. `axial serve` puts an OpenAI-compatible HTTP server on it; docs/serving.md describes the
 * policies, the KV-cache accounting and the measured effective throughput.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Conventions are those of axial.h (status codes, ax_last_error per thread).
 *
 * Threads: ax_serving_submit, ax_serving_cancel, ax_serving_poll, ax_serving_get_stats are
 * thread-safe and may be called from any thread, including from inside an event callback. The
 * steps run in one thread at a time: either the caller's (ax_serving_step) or the engine's own
 * background loop (ax_serving_start .. ax_serving_stop), never both. Callbacks run in the thread
 * that runs the step, with no engine lock held; a callback must return quickly (it delays every
 * sequence of the batch).
 *
 * Determinism: on the CPU, with greedy sampling, a request's tokens do not depend on which other
 * requests share its batches or its prefix blocks (the CPU kernels compute each token row the same
 * way whatever the batch; split-K attention is off in the engine). Seeded sampling is reproducible
 * likewise: draw i of a request uses (seed, i). On CUDA the quantized matmul rounds a row differently
 * in small and large steps, so tokens can differ where two logits nearly tie (docs/serving.md).
 */
#ifndef AXIAL_SERVING_H
#define AXIAL_SERVING_H

#include <stddef.h>
#include <stdint.h>

#include "axial/axial.h"
#include "axial/llm.h"
#include "axial/sampling.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ax_serving_engine ax_serving_engine;

typedef enum ax_serving_policy {
    /* Dynamic SplitFuse (DeepSpeed-FastGen): every step first takes one decode token of each running
     * sequence, then fills the rest of the token budget with prompt chunks (long prompts split across
     * steps, short ones packed); only a prompt's last chunk samples. */
    AX_SERVING_SPLITFUSE = 0,
    /* vLLM before chunked prefill: when a waiting prompt can be admitted, a step runs whole prompts
     * (as many as the budget holds; a prompt longer than the budget runs alone, in several forward
     * passes) and the running decodes wait; otherwise a step decodes every running sequence. */
    AX_SERVING_PREFILL_FIRST = 1,
    /* Fixed batches: when nothing runs, up to static_batch waiting requests are admitted together,
     * their prompts run whole, and the batch decodes until its last request ends; nothing joins a
     * running batch. */
    AX_SERVING_STATIC = 2
} ax_serving_policy;

/* "splitfuse", "prefill-first", "static"; NULL for a value outside the enum. */
AX_API const char *ax_serving_policy_name(ax_serving_policy policy);
/* Parses a name above. Errors: AX_ERR_INVALID_ARGUMENT naming the text and the accepted names. */
AX_API ax_status ax_serving_policy_parse(const char *name, ax_serving_policy *out);

/* The limits ax_serving_engine_create checks ax_serving_config against (AX_ERR_INVALID_ARGUMENT
 * beyond them), for front ends that check their own options first. */
#define AX_SERVING_BLOCK_SIZE_MIN 16
#define AX_SERVING_BLOCK_SIZE_MAX 4096
#define AX_SERVING_BLOCK_SIZE_DEFAULT 32
#define AX_SERVING_MAX_RUNNING_LIMIT 4096
#define AX_SERVING_MAX_BATCH_TOKENS_LIMIT 65536
#define AX_SERVING_MAX_QUEUE_LIMIT (1 << 20)

typedef struct ax_serving_config {
    size_t struct_size;         /* sizeof(ax_serving_config); set by AX_SERVING_CONFIG_INIT */
    ax_serving_policy policy;   /* default AX_SERVING_SPLITFUSE */
    int32_t n_ctx;              /* most tokens of one sequence (prompt + generated); <= 0: min(n_ctx_train, 4096) */
    int32_t block_size;         /* tokens per KV block, 16..4096; <= 0: 32 */
    int64_t num_blocks;         /* blocks in the pool; <= 0: enough for 8 full contexts (CPU),
                                   32 (CUDA) */
    int32_t max_batch_tokens;   /* token budget of one step (forward rows), at most 65536; <= 0: 64 on
                                   the CPU, 2048 on CUDA */
    int32_t max_running;        /* most sequences admitted at once, at most 4096; <= 0: 64; at most
                                   max_batch_tokens (every running sequence decodes in every step):
                                   larger is lowered */
    int32_t max_queue;          /* most requests waiting for admission, at most 2^20; submit beyond it
                                   is AX_ERR_BUSY; <= 0: 1024 */
    int32_t static_batch;       /* AX_SERVING_STATIC batch size; <= 0: max_running */
    int32_t prefix_sharing;     /* 1 (default): identical prompt prefixes share KV blocks; 0: off */
    int32_t preemption;         /* how KV room is promised; 0 (default): reserve, a request is admitted
                                   only when the pool can promise every block it may need (prompt +
                                   max_tokens), and is never preempted; 1: preempt, a request is
                                   admitted when its prompt fits (with a block of room left for each
                                   running sequence), running sequences take blocks as they grow, and
                                   when a step needs more than the pool has, the latest-submitted
                                   running sequences are preempted: their blocks are freed and they
                                   wait again at the head of the queue, to recompute their KV (prompt
                                   and tokens generated so far, less what the prefix cache still
                                   holds) when readmitted. On the CPU their tokens are the same
                                   either way (sampling draws are numbered per request, the kernels
                                   are batch-invariant); only the time differs. On CUDA a recompute
                                   runs generated tokens as prefill rows, which round differently
                                   (docs/serving.md, Determinism): a near tie may then flip. Preempted
                                   requests do not count against max_queue. */
} ax_serving_config;

#define AX_SERVING_CONFIG_INIT { sizeof(ax_serving_config), AX_SERVING_SPLITFUSE, 0, 0, 0, 0, 0, 0, 0, 1, 0 }

typedef enum ax_serving_finish {
    AX_SERVING_RUNNING = 0,     /* not finished */
    AX_SERVING_STOP = 1,        /* an end token (ax_llm_token_is_end), a stop token or a stop string */
    AX_SERVING_LENGTH = 2,      /* max_tokens generated, or the context is full */
    AX_SERVING_CANCELLED = 3,   /* ax_serving_cancel, or the engine was freed */
    AX_SERVING_ERROR = 4        /* the forward failed (memory, CUDA); the event's text holds the message */
} ax_serving_finish;

/* "running", "stop", "length", "cancelled", "error". */
AX_API const char *ax_serving_finish_name(ax_serving_finish reason);

/* What a request produced since the previous event (callback) or poll. Pointers are valid during
 * the callback; for a polled event, until the next poll of the same request, and for a polled final
 * event (finish != AX_SERVING_RUNNING) until the polling thread's next ax_serving_poll call (on any
 * request) or its exit. */
typedef struct ax_serving_event {
    int64_t request_id;
    const int32_t *tokens;      /* new generated tokens (stop strings do not remove tokens) */
    int64_t n_tokens;
    const float *probs;         /* the probability each new token was drawn with (n_tokens) */
    const char *text;           /* new text: whole UTF-8 characters only (a character split across
                                   tokens waits for its last byte; invalid bytes become U+FFFD),
                                   end tokens give no text, a stop string and what follows it are
                                   never sent, and text that could be the start of a stop string
                                   waits until it is known not to be. NUL-terminated. */
    size_t text_len;
    ax_serving_finish finish;   /* AX_SERVING_RUNNING until the last event */
    int64_t prompt_tokens;      /* prompt length in tokens */
    int64_t cached_tokens;      /* prompt tokens whose KV came from shared prefix blocks */
    int64_t completion_tokens;  /* tokens generated so far */
    double queue_seconds;       /* submit to admission */
    double first_token_seconds; /* submit to the first generated token (0 before it) */
} ax_serving_event;

typedef void (*ax_serving_callback)(void *user, const ax_serving_event *event);

typedef struct ax_serving_request {
    size_t struct_size;          /* sizeof(ax_serving_request); set by AX_SERVING_REQUEST_INIT */
    const char *prompt;          /* UTF-8 text, tokenized with the model's BOS rule and special-token
                                    parsing (ChatML markup becomes its tokens); or NULL and: */
    size_t prompt_len;           /* bytes of prompt */
    const int32_t *tokens;       /* the prompt as ids (used when prompt is NULL), copied at submit */
    int64_t n_tokens;
    ax_sampling_row sampling;    /* AX_SAMPLING_ROW_INIT but temperature 0 (greedy); counter ignored
                                    (draw i uses counter i) */
    int32_t penalty_last_n;      /* tokens the repetition penalties see (the last ones of the prompt and
                                    the generated, or see penalty_generated_only); 0: none */
    int32_t max_tokens;          /* >= 1; generation also stops when the context is full */
    const int32_t *stop_tokens;  /* extra ids that end generation (copied), or NULL */
    int32_t n_stop_tokens;
    const char *const *stop;     /* stop strings (copied; at most 16, each 1..256 bytes of valid UTF-8), or NULL */
    int32_t n_stop;
    int32_t ignore_eos;          /* 1: the model's end tokens do not stop generation */
    ax_serving_callback callback;/* events as they happen, or NULL: poll with ax_serving_poll */
    void *user;                  /* passed to callback */
    int32_t penalty_generated_only; /* 1: the penalties see only generated tokens (at most the last
                                       penalty_last_n of them), as OpenAI's presence and frequency
                                       penalties do; 0: the prompt too */
} ax_serving_request;

#define AX_SERVING_REQUEST_INIT                                                                      \
    { sizeof(ax_serving_request), NULL, 0, NULL, 0, { 0u, 0u, 0.0f, 0, 1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0u }, \
      0, 16, NULL, 0, NULL, 0, 0, NULL, NULL, 0 }

/* Creates an engine on a loaded model (the model must outlive the engine; several engines may
 * share a model). Allocates the KV pool and the activations of one step on the model's device.
 * cfg NULL = the defaults. Errors: AX_ERR_INVALID_ARGUMENT (a field out of range, named), AX_ERR_OUT_OF_MEMORY,
 * AX_ERR_CUDA. */
AX_API ax_status ax_serving_create(ax_llm_model *model, const ax_serving_config *cfg, ax_serving_engine **out);

/* Stops the background loop, ends every unfinished request with AX_SERVING_CANCELLED (callbacks
 * run, in the calling thread), and frees everything; unfinished polled requests are dropped, so no
 * thread may be inside ax_serving_poll (or any other call on the engine) then. NULL is a no-op. */
AX_API void ax_serving_free(ax_serving_engine *engine);

/* The configuration in effect (defaults filled in). */
AX_API ax_status ax_serving_get_config(const ax_serving_engine *engine, ax_serving_config *out);

/* Queues a request; *id receives its id (> 0). The prompt is tokenized and every argument checked
 * here, so a bad request fails now and never reaches a step: AX_ERR_INVALID_ARGUMENT for an empty
 * prompt, a prompt that leaves no room to generate in n_ctx ("prompt: 5000 tokens, the context holds
 * 4096"), max_tokens < 1, bad sampling settings (named as ax_sampling_check names them), an id out of
 * range, too many or empty stop strings; AX_ERR_BUSY when max_queue requests are already waiting
 * (try again later); AX_ERR_OUT_OF_MEMORY. A prompt whose KV cannot fit the whole pool even alone is
 * AX_ERR_INVALID_ARGUMENT too. Thread-safe. */
AX_API ax_status ax_serving_submit(ax_serving_engine *engine, const ax_serving_request *request, int64_t *id);

/* Cancels a request: it ends with AX_SERVING_CANCELLED at the next step, whether it runs or still
 * waits (until then it counts toward max_queue), and its blocks return to the pool. Cancelling a
 * finished or unknown id is AX_ERR_INVALID_ARGUMENT. Thread-safe. */
AX_API ax_status ax_serving_cancel(ax_serving_engine *engine, int64_t id);

/* For requests submitted without a callback: fills *event with everything produced since the last
 * poll (n_tokens may be 0). timeout_ms 0 returns at once; > 0 waits up to that long for something
 * new; < 0 waits until something is new. Once an event with finish != AX_SERVING_RUNNING has been
 * returned the request is forgotten (polling it again is AX_ERR_INVALID_ARGUMENT). A poll that finds
 * nothing new after a timeout is AX_OK with n_tokens 0, text_len 0 and finish AX_SERVING_RUNNING.
 * A request that failed with text not yet polled returns that text first (finish RUNNING), then at
 * the next poll, at once, the AX_SERVING_ERROR event whose text is the message.
 * Errors: AX_ERR_INVALID_ARGUMENT (unknown id, a request with a callback). Thread-safe (one poller per
 * request). */
AX_API ax_status ax_serving_poll(ax_serving_engine *engine, int64_t id, int timeout_ms, ax_serving_event *event);

/* Runs one scheduler step in the caller's thread: picks the batch by the policy, runs its forward,
 * samples, delivers events. *did_work (may be NULL) is 0 when there was nothing to do. Errors:
 * AX_ERR_INVALID_ARGUMENT (the background loop is running); a forward failure ends the requests of
 * that batch with AX_SERVING_ERROR and returns its status. */
AX_API ax_status ax_serving_step(ax_serving_engine *engine, int *did_work);

/* Starts a background thread that steps while there is work and sleeps when there is none.
 * Starting it twice is a no-op. Built with GCC's OpenMP (libgomp), it first gives back the calling
 * thread's idle OpenMP threads (omp_pause_resource, outside a parallel region), so that the loop's
 * own team spin-waits instead of sleeping between regions (docs/serving.md, "Threads"). Errors:
 * AX_ERR_OUT_OF_MEMORY (no thread). */
AX_API ax_status ax_serving_start(ax_serving_engine *engine);
/* Stops the background thread after its current step; requests stay queued. No-op when stopped.
 * Not from inside a callback (the loop would wait for itself). Two stops at once both return when
 * the thread has ended; a start during a stop waits for it, then starts a new thread. */
AX_API void ax_serving_stop(ax_serving_engine *engine);

typedef struct ax_serving_stats {
    int64_t waiting;             /* requests queued for admission */
    int64_t running;             /* admitted sequences (prefilling or decoding) */
    int64_t blocks_total;        /* KV blocks in the pool */
    int64_t blocks_used;         /* blocks held by live sequences (reference count > 0) */
    int64_t blocks_cached;       /* free blocks still in the prefix index: reusable prompt (or generated) tokens */
    int64_t block_size;
    int64_t requests_submitted, requests_finished, requests_cancelled;
    int64_t prompt_tokens;       /* prompt tokens of admitted requests */
    int64_t cached_prompt_tokens;/* of which came from shared prefix blocks */
    int64_t computed_prompt_tokens; /* prompt tokens run through the forward (again after a preemption) */
    int64_t generated_tokens;
    int64_t steps;               /* forward steps run */
    int64_t copy_on_write;       /* blocks copied because a shared block was about to be written */
    int64_t preemptions;         /* running sequences sent back to the queue (cfg.preemption 1) */
} ax_serving_stats;

/* Thread-safe snapshot. */
AX_API ax_status ax_serving_get_stats(ax_serving_engine *engine, ax_serving_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_SERVING_H */

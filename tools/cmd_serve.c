/*
 * cmd_serve.c — `axial serve`: loads a GGUF model, starts a serving engine (include/axial/serving.h)
 * with its background loop, and puts the OpenAI-compatible HTTP server of serve_http.c in front of
 * it until SIGINT or SIGTERM. docs/server.md describes the endpoints.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "axial/serving.h"
#include "cli.h"

#ifdef AXIAL_SERVE_HTTP
#include "serve_http.h"
#endif

static void serve_usage(FILE *out) {
    fprintf(out,
            "usage: axial serve [--model FILE] [--alias NAME] [--host ADDR] [--port N] [--policy P]\n"
            "                   [--device cpu|cuda] [--ctx-size N] [--threads T] [--max-queue N]\n"
            "                   [--max-running N] [--batch-tokens N] [--block-size N] [--blocks N]\n"
            "                   [--admission preempt|reserve] [--allow-origin ORIGIN]\n"
            "  Serves the model over HTTP with an OpenAI-compatible API (POST /v1/completions,\n"
            "  /v1/chat/completions; GET /v1/models, /health, /metrics) until SIGINT or SIGTERM.\n"
            "  --host defaults to 127.0.0.1 and --port to 8080 (0: a free port); the line \"axial serve:\n"
            "  listening on http://HOST:PORT\" on stdout says when it is ready. --alias: the model name\n"
            "  clients send (default: the file's base name without .gguf). --policy splitfuse (default),\n"
            "  prefill-first or static. --device: where the model runs (cpu, the default; cuda: GPU 0, the\n"
            "  weights uploaded once). --ctx-size: tokens per sequence (default min(training context,\n"
            "  4096)); --max-queue: waiting requests before 503 (default 1024); --max-running: sequences\n"
            "  at once (64, and at most --batch-tokens: each decodes a token every step); --batch-tokens:\n"
            "  tokens per step (64 on the CPU, 2048 on CUDA); --block-size: tokens per KV block (32);\n"
            "  --blocks: KV blocks in the pool (enough for 8 full contexts on the CPU, 32 on CUDA).\n"
            "  --admission: preempt (default) admits a request when its prompt fits the pool and, when\n"
            "  the pool runs out, sends the latest requests back to the queue to recompute later (on\n"
            "  the CPU the same tokens, later); reserve admits a request only when the pool can promise it\n"
            "  prompt + max_tokens (the rest of the context when a request gives none) and never\n"
            "  preempts.\n"
            "  --threads: CPU threads (0 = all cores). --allow-origin: let browser pages from ORIGIN\n"
            "  (\"*\": any) call the server (CORS: the header on every answer, OPTIONS preflights); off by\n"
            "  default, so a web page cannot use a local server.\n");
}

typedef struct serve_options {
    const char *model_path, *alias, *host, *policy, *allow_origin;
    int preemption; /* --admission: 1 preempt (default), 0 reserve */
    ax_device device;
    long long port, ctx_size, threads, max_queue, max_running, batch_tokens, block_size, blocks;
} serve_options;

static int serve_parse_int(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    const long long v = strtoll(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

/* 0 when parsed, -1 for --help, else the exit status. */
static int serve_parse(int argc, char **argv, serve_options *o) {
    static const struct {
        const char *name;
        long long lo, hi;
        size_t offset;
        const char *expected;
    } ints[] = {
        {"--port", 0, 65535, offsetof(serve_options, port), "a port in [0, 65535] (0 = any free port)"},
        {"--ctx-size", 0, INT32_MAX, offsetof(serve_options, ctx_size), "an integer >= 0 (0 = the default)"},
        {"--threads", 0, 4096, offsetof(serve_options, threads), "an integer in [0, 4096] (0 = all cores)"},
        /* The engine's limits (serving.h), so that the option is named rather than its cfg-> field */
        {"--max-queue", 0, AX_SERVING_MAX_QUEUE_LIMIT, offsetof(serve_options, max_queue),
         "an integer in [0, 1048576] (0 = the default)"},
        {"--max-running", 0, AX_SERVING_MAX_RUNNING_LIMIT, offsetof(serve_options, max_running),
         "an integer in [0, 4096] (0 = the default)"},
        {"--batch-tokens", 0, AX_SERVING_MAX_BATCH_TOKENS_LIMIT, offsetof(serve_options, batch_tokens),
         "an integer in [0, 65536] (0 = the default)"},
        {"--block-size", 0, AX_SERVING_BLOCK_SIZE_MAX, offsetof(serve_options, block_size),
         "0 (the default) or an integer in [16, 4096]"},
        {"--blocks", 0, INT64_MAX, offsetof(serve_options, blocks), "an integer >= 0 (0 = the default)"},
    };
    enum { N_INTS = sizeof ints / sizeof ints[0] };
    const char *value_options[7 + N_INTS + 1] = {"--model",  "--host",         "--alias",    "--device",
                                                 "--policy", "--allow-origin", "--admission"};
    for (size_t k = 0; k < N_INTS; k++) value_options[7 + k] = ints[k].name;
    value_options[7 + N_INTS] = NULL;
    if (axial_refuse_repeated_options(argc, argv, "serve", value_options) != 0) return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            serve_usage(stdout);
            return -1;
        }
        if (val == NULL) {
            fprintf(stderr, "axial serve: unexpected argument '%s'%s\n", a, a[0] == '-' ? " (or its value missing)" : "");
            serve_usage(stderr);
            return 2;
        }
        i++;
        if (strcmp(a, "--model") == 0) {
            o->model_path = val;
        } else if (strcmp(a, "--alias") == 0) {
            if (val[0] == '\0') { /* clients would have to send "model": "" */
                fprintf(stderr, "axial serve: --alias '': expected a model name clients send\n");
                return 2;
            }
            o->alias = val;
        } else if (strcmp(a, "--device") == 0) {
            if (axial_parse_model_device(val, &o->device) != 0) {
                fprintf(stderr, "axial serve: --device '%s': expected cpu or cuda\n", val);
                return 2;
            }
        } else if (strcmp(a, "--host") == 0) {
            o->host = val;
        } else if (strcmp(a, "--policy") == 0) {
            o->policy = val;
        } else if (strcmp(a, "--admission") == 0) {
            if (strcmp(val, "preempt") != 0 && strcmp(val, "reserve") != 0) {
                fprintf(stderr, "axial serve: --admission '%s': expected preempt or reserve\n", val);
                return 2;
            }
            o->preemption = strcmp(val, "preempt") == 0;
        } else if (strcmp(a, "--allow-origin") == 0) {
            /* a header value: no control characters (a CR or LF would start a header of its own) */
            for (const char *ch = val; *ch != '\0'; ch++)
                if ((unsigned char)*ch < 0x20 || *ch == 0x7f) {
                    fprintf(stderr, "axial serve: --allow-origin: control characters are not allowed\n");
                    return 2;
                }
            if (val[0] == '\0') {
                fprintf(stderr, "axial serve: --allow-origin '': expected \"*\" or an origin such as "
                                "http://localhost:3000\n");
                return 2;
            }
            o->allow_origin = val;
        } else {
            size_t k = 0;
            while (k < sizeof ints / sizeof ints[0] && strcmp(a, ints[k].name) != 0) k++;
            if (k == sizeof ints / sizeof ints[0]) {
                fprintf(stderr, "axial serve: unknown option '%s'\n", a);
                serve_usage(stderr);
                return 2;
            }
            if (serve_parse_int(val, ints[k].lo, ints[k].hi, (long long *)((char *)o + ints[k].offset)) != 0) {
                fprintf(stderr, "axial serve: %s '%s': expected %s\n", a, val, ints[k].expected);
                return 2;
            }
        }
    }
    /* The engine's other limits on these two, named by option rather than by its cfg-> fields. */
    if (o->block_size > 0 && o->block_size < AX_SERVING_BLOCK_SIZE_MIN) {
        fprintf(stderr, "axial serve: --block-size '%lld': expected 0 (the default) or an integer in [16, 4096]\n",
                o->block_size);
        return 2;
    }
    const long long block = o->block_size > 0 ? o->block_size : AX_SERVING_BLOCK_SIZE_DEFAULT;
    if (o->blocks > INT32_MAX / block) {
        fprintf(stderr, "axial serve: --blocks '%lld': %lld blocks of %lld tokens exceed 2^31 KV slots\n", o->blocks,
                o->blocks, block);
        return 2;
    }
    return 0;
}

#ifdef AXIAL_SERVE_HTTP

/* The default model name: the file's base name without ".gguf". */
static void serve_model_id(const char *path, char *buf, size_t size) {
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".gguf") == 0) n -= 5;
    snprintf(buf, size, "%.*s", (int)n, base);
}

static int serve_fail(const char *what, ax_status st) {
    fprintf(stderr, "axial serve: %s: %s: %s\n", what, ax_status_string(st), ax_last_error());
    return 1;
}

static int serve_run(const serve_options *o) {
    ax_serving_config ec = AX_SERVING_CONFIG_INIT;
    if (o->policy != NULL && ax_serving_policy_parse(o->policy, &ec.policy) != AX_OK) {
        fprintf(stderr, "axial serve: --policy '%s': expected splitfuse, prefill-first or static\n", o->policy);
        return 2;
    }
    char default_path[4096];
    const char *model_path = o->model_path;
    if (model_path == NULL) {
        if (axial_default_model(default_path, sizeof default_path) != 0) return 1;
        model_path = default_path;
    }
    char model_id[256];
    serve_model_id(model_path, model_id, sizeof model_id);
    if (o->alias != NULL) snprintf(model_id, sizeof model_id, "%s", o->alias);

    /* Signals go to this thread alone, through sigwait: blocked before any thread starts, every
     * thread inherits the mask. A client gone away must not kill the server with SIGPIPE. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* Bound before the model loads: a port in use is told at once, not after the load. */
    srv_raise_fd_limit();
    const char *host = o->host != NULL ? o->host : "127.0.0.1";
    char err[512];
    int listen_fd = -1, port = 0;
    if (srv_listen(host, (int)o->port, &listen_fd, &port, err, sizeof err) != 0) {
        fprintf(stderr, "axial serve: %s\n", err);
        return 1;
    }

    ax_llm_model_config mc = AX_LLM_MODEL_CONFIG_INIT;
    mc.num_threads = (int)o->threads;
    mc.device = o->device;
    ax_llm_model *model = NULL;
    ax_status st = ax_llm_model_load(model_path, &mc, &model);
    if (st != AX_OK) {
        close(listen_fd);
        return serve_fail("loading the model", st); /* the message names the file */
    }
    ec.n_ctx = (int32_t)o->ctx_size;
    ec.max_queue = (int32_t)o->max_queue;
    ec.max_running = (int32_t)o->max_running;
    ec.max_batch_tokens = (int32_t)o->batch_tokens;
    ec.block_size = (int32_t)o->block_size;
    ec.num_blocks = (int64_t)o->blocks;
    ec.preemption = o->preemption;
    ax_serving_engine *engine = NULL;
    srv_server *srv = NULL;
    int rc = 0;
    if ((st = ax_serving_create(model, &ec, &engine)) != AX_OK) {
        rc = serve_fail("engine", st);
        goto done;
    }
    if ((st = ax_serving_start(engine)) != AX_OK) {
        rc = serve_fail("engine loop", st);
        goto done;
    }
    const srv_server_config sc = {listen_fd, model_id, model, engine, o->allow_origin};
    /* From here the socket is the daemon's: MHD_stop_daemon closes it. After a failed start it is
     * left alone (libmicrohttpd may have closed it already) and the process ends. */
    listen_fd = -1;
    if (srv_server_start(&sc, &srv, err, sizeof err) != 0) {
        fprintf(stderr, "axial serve: %s\n", err);
        rc = 1;
        goto done;
    }
    ax_serving_config got;
    ax_serving_get_config(engine, &got);
    const int64_t connections = srv_connection_limit(&got), wanted = srv_connections_wanted(&got);
    if (connections < wanted)
        fprintf(stderr,
                "axial serve: warning: the open-file limit (ulimit -n) holds %lld connections, fewer than "
                "--max-running + --max-queue + 64 = %lld: clients past it are closed unanswered instead of "
                "getting a 503 (raise ulimit -Hn, or lower --max-queue)\n",
                (long long)connections, (long long)wanted);
    const int v6 = strchr(host, ':') != NULL;
    fprintf(stderr,
            "axial serve: model %s, policy %s, context %d tokens, %lld KV blocks of %d tokens (admission: %s), "
            "%d tokens per step, at most %d sequences at once and %d waiting, %lld connections\n",
            model_id, ax_serving_policy_name(got.policy), (int)got.n_ctx, (long long)got.num_blocks,
            (int)got.block_size, got.preemption ? "preempt" : "reserve", (int)got.max_batch_tokens,
            (int)got.max_running, (int)got.max_queue,
            (long long)connections);
    printf("axial serve: listening on http://%s%s%s:%d\n", v6 ? "[" : "", host, v6 ? "]" : "", port);
    fflush(stdout);
    int sig = 0;
    while (sigwait(&stop_signals, &sig) != 0) {
    }
    fprintf(stderr, "axial serve: %s, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
done:
    if (listen_fd >= 0) close(listen_fd);
    srv_server_stop(srv);
    ax_serving_free(engine);
    ax_llm_model_free(model);
    return rc;
}

#endif /* AXIAL_SERVE_HTTP */

int axial_cmd_serve(int argc, char **argv) {
    serve_options o = {0};
    o.port = 8080;
    o.preemption = 1; /* the server's clients often leave max_tokens out (a whole context each to reserve) */
    const int parsed = serve_parse(argc, argv, &o);
    if (parsed != 0) return parsed < 0 ? 0 : parsed;
#ifdef AXIAL_SERVE_HTTP
    return serve_run(&o);
#else
    fprintf(stderr, "axial serve: this axial was built without libmicrohttpd/libcjson: apt-get install "
                    "libmicrohttpd-dev libcjson-dev (or run scripts/install-deps.sh) and rebuild\n");
    return 2;
#endif
}

/*
 * test_alloc_failures.c — every heap allocation the library makes may fail, one at a time, and each
 * public call then fails cleanly: status AX_ERR_OUT_OF_MEMORY (or AX_OK where the allocation was an
 * optional one with a fallback, the result then equal to a run without failures), a message, no
 * crash, no leak, and no output file left behind.
 *
 * How: this program defines malloc, calloc, realloc, aligned_alloc, posix_memalign and free (glibc
 * lets a program replace them), forwarding to glibc's own. The library is linked statically into
 * the program, so an allocation whose caller is in the program's text is the library's (or this
 * test's, outside the armed windows); calls from libc, zlib, HDF5, OpenBLAS or libgomp are never
 * failed. A scenario runs once to count its allocations, then again with the n-th one failing, for
 * every n (about a thousand spread over them where there are more than 2000). Live allocations are tracked by pointer,
 * so a run that does not give back what it took is reported as a leak.
 *
 * Not built with sanitizers (they replace the allocator themselves). Scenarios: the MSA, mmCIF and
 * PDB parsers; MSA features, a training batch and a PNG figure; structure features written to an
 * HDF5 store; flash attention and Evoformer attention (forward and backward, on the context's
 * threads); and, with the real model, model load, tokenizer, session eval and sampling, the chat
 * template and the serving engine.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#define _GNU_SOURCE
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "axial/attention.h"
#include "axial/evoformer.h"
#include "axial/features.h"
#include "axial/figures.h"
#include "axial/io.h"
#include "axial/llm.h"
#include "axial/serving.h"
#include "axial/store.h"
#include "harness.h"
#include "model_path.h"

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);
extern void __libc_free(void *p);

/* ---- the program's text: where "the library's" allocations come from ------------------------ */

enum { MAX_RANGES = 8 };
static uintptr_t g_lo[MAX_RANGES], g_hi[MAX_RANGES];
static int g_ranges;

static int collect_ranges(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size, (void)data;
    for (int i = 0; i < info->dlpi_phnum && g_ranges < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
        g_lo[g_ranges] = info->dlpi_addr + ph->p_vaddr;
        g_hi[g_ranges] = g_lo[g_ranges] + ph->p_memsz;
        g_ranges++;
    }
    return 1; /* the first object is the program itself */
}

static int from_program(const void *caller) {
    const uintptr_t a = (uintptr_t)caller;
    for (int i = 0; i < g_ranges; i++)
        if (a >= g_lo[i] && a < g_hi[i]) return 1;
    return 0;
}

/* ---- live allocations of the program's callers, by pointer (open addressing) ----------------- */

enum { SLOTS = 1 << 21 };
static void *g_slots[SLOTS];
static int64_t g_live, g_overflow;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t slot_of(const void *p) { return (size_t)(((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ULL >> 43); }

static void live_add(void *p) {
    pthread_mutex_lock(&g_lock);
    if (g_live >= SLOTS / 2) {
        g_overflow = 1;
    } else {
        size_t i = slot_of(p);
        while (g_slots[i] != NULL) i = (i + 1) & (SLOTS - 1);
        g_slots[i] = p;
        g_live++;
    }
    pthread_mutex_unlock(&g_lock);
}

/* Removes p when tracked (backward-shift deletion keeps every probe chain whole). */
static void live_remove(void *p) {
    pthread_mutex_lock(&g_lock);
    size_t i = slot_of(p);
    while (g_slots[i] != NULL && g_slots[i] != p) i = (i + 1) & (SLOTS - 1);
    if (g_slots[i] == p) {
        g_slots[i] = NULL;
        g_live--;
        for (size_t j = (i + 1) & (SLOTS - 1); g_slots[j] != NULL; j = (j + 1) & (SLOTS - 1)) {
            const size_t home = slot_of(g_slots[j]);
            /* move j's entry into the hole at i unless its home lies cyclically in (i, j] */
            const int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!stays) {
                g_slots[i] = g_slots[j];
                g_slots[j] = NULL;
                i = j;
            }
        }
    }
    pthread_mutex_unlock(&g_lock);
}

static int64_t live_count(void) {
    pthread_mutex_lock(&g_lock);
    const int64_t n = g_live;
    pthread_mutex_unlock(&g_lock);
    return n;
}

/* ---- the replaced allocator ------------------------------------------------------------------- */

static atomic_int g_ready;             /* ranges known */
static atomic_llong g_count;           /* the program's allocations since the scenario began */
static atomic_llong g_fail_at;         /* the one to fail (1-based), 0 = none */
static atomic_int g_failed;            /* it was reached */

/* 1 when this allocation of the program's must fail. */
static int should_fail(const void *caller) {
    if (!atomic_load(&g_ready) || !from_program(caller)) return 0;
    const long long n = atomic_fetch_add(&g_count, 1) + 1;
    if (n != atomic_load(&g_fail_at)) return 0;
    atomic_store(&g_failed, 1);
    return 1;
}

static void *track(void *p, const void *caller) {
    if (p != NULL && atomic_load(&g_ready) && from_program(caller)) live_add(p);
    return p;
}

void *malloc(size_t size) {
    const void *caller = __builtin_return_address(0);
    if (should_fail(caller)) {
        errno = ENOMEM;
        return NULL;
    }
    return track(__libc_malloc(size), caller);
}

void *calloc(size_t n, size_t size) {
    const void *caller = __builtin_return_address(0);
    if (should_fail(caller)) {
        errno = ENOMEM;
        return NULL;
    }
    return track(__libc_calloc(n, size), caller);
}

void *realloc(void *p, size_t size) {
    const void *caller = __builtin_return_address(0);
    if (p != NULL && size == 0) { /* glibc frees here */
        live_remove(p);
        return __libc_realloc(p, 0);
    }
    if (should_fail(caller)) {
        errno = ENOMEM;
        return NULL;
    }
    void *q = __libc_realloc(p, size);
    if (q != NULL) {
        if (p != NULL) live_remove(p);
        track(q, caller);
    }
    return q;
}

void *aligned_alloc(size_t alignment, size_t size) {
    const void *caller = __builtin_return_address(0);
    if (should_fail(caller)) {
        errno = ENOMEM;
        return NULL;
    }
    return track(__libc_memalign(alignment, size), caller);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    const void *caller = __builtin_return_address(0);
    if (should_fail(caller)) return ENOMEM;
    void *p = track(__libc_memalign(alignment, size), caller);
    if (p == NULL) return ENOMEM;
    *out = p;
    return 0;
}

void free(void *p) {
    if (p == NULL) return;
    if (atomic_load(&g_ready)) live_remove(p);
    __libc_free(p);
}

/* ---- scenarios ---------------------------------------------------------------------------------- */

/* A scenario makes its calls, frees everything it made, and writes a summary of what it computed
 * (equal across runs that succeed). Returns the first failing status. */
typedef ax_status (*scenario_fn)(char *summary, size_t cap);

static char g_store_path[256];
static ax_llm_model *g_model; /* loaded once for the serving scenario (outside the counted runs) */

static ax_status scenario_msa(char *summary, size_t cap) {
    ax_msa *a = NULL, *s = NULL;
    ax_status st = ax_a3m_read(AXIAL_TEST_DATA "/query.a3m", &a);
    if (st == AX_OK) st = ax_stockholm_read(AXIAL_TEST_DATA "/globins4.sto", &s);
    if (st == AX_OK)
        snprintf(summary, cap, "a3m %lldx%lld d%d sto %lldx%lld %s", (long long)a->num_rows, (long long)a->num_cols,
                 (int)a->deletions[a->num_cols * a->num_rows - 1], (long long)s->num_rows, (long long)s->num_cols,
                 s->names[s->num_rows - 1]);
    ax_msa_destroy(a);
    ax_msa_destroy(s);
    return st;
}

static ax_status scenario_structures(char *summary, size_t cap) {
    ax_structure *c = NULL, *p = NULL;
    ax_status st = ax_mmcif_read(AXIAL_TEST_DATA "/1as5.cif.gz", &c);
    if (st == AX_OK) st = ax_pdb_read(AXIAL_TEST_DATA "/1tii.pdb", &p);
    if (st == AX_OK)
        snprintf(summary, cap, "cif %lld chains %s %lld atoms; pdb %lld chains %s", (long long)c->num_chains,
                 c->chains[0].sequence, (long long)c->chains[0].num_atoms, (long long)p->num_chains,
                 p->chains[0].sequence);
    ax_structure_destroy(c);
    ax_structure_destroy(p);
    return st;
}

/* Features of a real structure, written to a store; on failure no store may exist. */
static ax_status scenario_store(char *summary, size_t cap) {
    ax_structure *s = NULL;
    ax_chain_features *f = NULL;
    ax_store_writer *w = NULL;
    ax_status st = ax_mmcif_read(AXIAL_TEST_DATA "/1cbs.cif.gz", &s);
    if (st == AX_OK) st = ax_chain_features_create(NULL, &s->chains[0], s->resolution, &f);
    if (st == AX_OK) st = ax_store_begin(g_store_path, 0, &w);
    if (st == AX_OK) st = ax_store_add_chain(w, "1cbs_A", f, "test");
    if (st == AX_OK) {
        st = ax_store_commit(w); /* frees the writer, also on failure */
        w = NULL;
    }
    ax_store_abort(w);
    if (st == AX_OK) snprintf(summary, cap, "store of %lld residues", (long long)f->seq_length);
    ax_chain_features_destroy(f);
    ax_structure_destroy(s);
    if (st != AX_OK && access(g_store_path, F_OK) == 0) {
        TH_FAIL("a failed store write left %s behind (%s)", g_store_path, ax_last_error());
        unlink(g_store_path);
    }
    unlink(g_store_path);
    /* The store leaves its advisory lock file beside the store by design (store.h); a test removes its own. */
    char lock[sizeof g_store_path + 8];
    snprintf(lock, sizeof lock, "%s.lock", g_store_path);
    unlink(lock);
    return st;
}

/* MSA features of a real alignment, a training batch cut from them, and a figure; on failure no
 * figure may exist. */
static char g_png_path[256];

static ax_status scenario_msa_features(char *summary, size_t cap) {
    ax_msa *a = NULL;
    ax_chain_features *f = NULL;
    ax_feature_batch *b = NULL;
    ax_status st = ax_chain_features_from_sequence("MKVLAAGIVGLLLAQ", &f); /* a FASTA record's features */
    ax_chain_features_destroy(f);
    f = NULL;
    if (st == AX_OK) st = ax_a3m_read(AXIAL_TEST_DATA "/query.a3m", &a);
    const ax_msa *msas[1] = {a};
    if (st == AX_OK) st = ax_chain_features_from_msas(msas, 1, NULL, 0.0, NULL, &f);
    if (st == AX_OK) st = ax_feature_batch_create(f, NULL, &b);
    if (st == AX_OK) st = ax_png_write_chain_map(g_png_path, f, "A", AX_CHAIN_MAP_MSA_IDENTITY, 8.0f);
    if (st == AX_OK)
        snprintf(summary, cap, "%lld rows; batch %lld clusters %lld extra, first %d", (long long)f->num_alignments,
                 (long long)b->num_clusters, (long long)b->num_extra, ((const int32_t *)b->msa.data)[1]);
    ax_feature_batch_destroy(b);
    ax_chain_features_destroy(f);
    ax_msa_destroy(a);
    if (st != AX_OK && access(g_png_path, F_OK) == 0) TH_FAIL("a failed figure left %s behind", g_png_path);
    unlink(g_png_path);
    return st;
}

static float g_buf[16][2 * 70 * 2 * 32];

static void fill(float *x, int64_t n, uint32_t seed) {
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) / 16777216.0f - 0.5f;
    }
}

static double checksum(const float *x, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * (double)((i % 7) + 1);
    return s;
}

static ax_status scenario_attention(char *summary, size_t cap) {
    enum { S = 70, H = 2, D = 32, N = S * H * D };
    ax_context *ctx = NULL;
    ax_status st = ax_context_create(&ctx, NULL);
    const int64_t sq[4] = {1, S, H, D}, sl[3] = {1, H, S};
    ax_tensor t[8], lse;
    for (int a = 0; a < 8; a++) ax_tensor_contiguous(&t[a], g_buf[a], AX_F32, 4, sq);
    ax_tensor_contiguous(&lse, g_buf[8], AX_F32, 3, sl);
    for (int a = 0; a < 4; a++) fill(g_buf[a], N, (uint32_t)a + 1); /* q, k, v, dout */
    ax_attention_options o = ax_attention_options_default();
    o.causal = 1;
    if (st == AX_OK) st = ax_attention_forward(ctx, &t[0], &t[1], &t[2], NULL, &o, &t[4], &lse);
    if (st == AX_OK)
        st = ax_attention_backward(ctx, &t[0], &t[1], &t[2], NULL, &t[4], &lse, &t[3], &o, &t[5], &t[6], &t[7], NULL);
    if (st == AX_OK)
        snprintf(summary, cap, "%.9g %.9g %.9g", checksum(g_buf[4], N), checksum(g_buf[5], N), checksum(g_buf[7], N));
    ax_context_destroy(ctx);
    return st;
}

static ax_status scenario_evoformer(char *summary, size_t cap) {
    enum { NS = 2, S = 35, H = 2, D = 32, N = NS * S * H * D };
    ax_context *ctx = NULL;
    ax_status st = ax_context_create(&ctx, NULL);
    const int64_t sa[5] = {1, NS, S, H, D}, sl[4] = {1, NS, H, S}, sp[5] = {1, 1, H, S, S};
    ax_tensor t[8], lse, pair, dpair;
    for (int a = 0; a < 8; a++) ax_tensor_contiguous(&t[a], g_buf[a], AX_F32, 5, sa);
    ax_tensor_contiguous(&lse, g_buf[8], AX_F32, 4, sl);
    ax_tensor_contiguous(&pair, g_buf[9], AX_F32, 5, sp);
    ax_tensor_contiguous(&dpair, g_buf[10], AX_F32, 5, sp);
    for (int a = 0; a < 4; a++) fill(g_buf[a], N, (uint32_t)a + 11);
    fill(g_buf[9], H * S * S, 19);
    if (st == AX_OK) st = ax_evoformer_attention_forward(ctx, &t[0], &t[1], &t[2], NULL, &pair, &t[4], &lse);
    if (st == AX_OK)
        st = ax_evoformer_attention_backward(ctx, &t[0], &t[1], &t[2], NULL, &pair, &t[4], &lse, &t[3], &t[5], &t[6],
                                             &t[7], NULL, &dpair);
    if (st == AX_OK)
        snprintf(summary, cap, "%.9g %.9g %.9g", checksum(g_buf[4], N), checksum(g_buf[6], N),
                 checksum(g_buf[10], H * S * S));
    ax_context_destroy(ctx);
    return st;
}

static char g_model_path[4096];

/* Load, tokenize, a session's prefill and greedy draws, detokenize. */
static ax_status scenario_llm(char *summary, size_t cap) {
    ax_llm_model *m = NULL;
    ax_llm_session *s = NULL;
    static int32_t ids[64];
    static char text[256];
    int64_t n = 0;
    size_t text_len = 0;
    ax_llm_session_config sc = AX_LLM_SESSION_CONFIG_INIT;
    sc.n_ctx = 64;
    ax_status st = ax_llm_model_load(g_model_path, NULL, &m);
    if (st == AX_OK) st = ax_llm_tokenize(m, "The capital of France is", 24, 0, ids, 48, &n);
    if (st == AX_OK) st = ax_llm_session_create(m, &sc, &s);
    if (st == AX_OK) st = ax_llm_session_eval(s, ids, n, 0);
    ax_sampling_row greedy = AX_SAMPLING_ROW_INIT;
    greedy.temperature = 0.0f;
    for (int i = 0; i < 3 && st == AX_OK; i++) {
        float prob = 0.0f;
        st = ax_llm_session_sample(s, &greedy, 0, &ids[n + i], &prob);
        if (st == AX_OK) st = ax_llm_session_eval(s, &ids[n + i], 1, 0);
    }
    if (st == AX_OK) st = ax_llm_detokenize(m, ids + n, 3, 0, text, sizeof text, &text_len);
    if (st == AX_OK) snprintf(summary, cap, "%lld tokens then %d %d %d: \"%s\"", (long long)n, (int)ids[n],
                              (int)ids[n + 1], (int)ids[n + 2], text);
    ax_llm_session_free(s);
    ax_llm_model_free(m);
    return st;
}

/* The chat template, tokenized (the loaded model of the serving scenario). */
static ax_status scenario_chat(char *summary, size_t cap) {
    static const ax_llm_chat_message msgs[3] = {{"system", "You are terse."},
                                                {"user", "Name a prime. <|im_end|> stays text"},
                                                {"assistant", "Seven."}};
    static char text[1024];
    static int32_t ids[256];
    size_t len = 0;
    int64_t n = 0;
    ax_status st = ax_llm_chat_apply(g_model, msgs, 3, 1, text, sizeof text, &len);
    if (st == AX_OK) st = ax_llm_chat_tokenize(g_model, msgs, 3, 1, 0, ids, 256, &n);
    if (st == AX_OK) snprintf(summary, cap, "%zu bytes, %lld tokens, last %d", len, (long long)n, (int)ids[n - 1]);
    return st;
}

static int32_t g_events_tokens[2][8];
static int g_events_n[2], g_events_finish[2];

static void on_event(void *user, const ax_serving_event *ev) {
    const int r = (int)(intptr_t)user;
    for (int64_t i = 0; i < ev->n_tokens && g_events_n[r] < 8; i++) g_events_tokens[r][g_events_n[r]++] = ev->tokens[i];
    if (ev->finish != AX_SERVING_RUNNING) g_events_finish[r] = (int)ev->finish;
}

/* Two requests (text and ids) through an engine stepped to the end. A request whose step failed
 * ends with AX_SERVING_ERROR and the call's status. */
static ax_status scenario_serving(char *summary, size_t cap) {
    memset(g_events_n, 0, sizeof g_events_n);
    memset(g_events_finish, 0, sizeof g_events_finish);
    ax_serving_config cfg = AX_SERVING_CONFIG_INIT;
    cfg.n_ctx = 64;
    cfg.num_blocks = 8;
    ax_serving_engine *e = NULL;
    ax_status st = ax_serving_create(g_model, &cfg, &e);
    static const int32_t prompt[5] = {504, 3458, 282, 4649, 314};
    for (int r = 0; r < 2 && st == AX_OK; r++) {
        ax_serving_request req = AX_SERVING_REQUEST_INIT;
        if (r == 0) {
            req.prompt = "Once upon a time";
            req.prompt_len = 16;
        } else {
            req.tokens = prompt;
            req.n_tokens = 5;
        }
        req.max_tokens = 4;
        req.ignore_eos = 1;
        req.callback = on_event;
        req.user = (void *)(intptr_t)r;
        int64_t id = 0;
        st = ax_serving_submit(e, &req, &id);
    }
    for (int guard = 0; guard < 1000 && st == AX_OK; guard++) {
        int did = 0;
        st = ax_serving_step(e, &did);
        if (!did) break;
    }
    if (st == AX_OK) {
        /* a failed step's requests end in error: the status this scenario reports is the engine's */
        if (g_events_finish[0] == AX_SERVING_ERROR || g_events_finish[1] == AX_SERVING_ERROR) st = AX_ERR_OUT_OF_MEMORY;
        else
            snprintf(summary, cap, "%d %d %d %d / %d %d %d %d finish %d %d", g_events_tokens[0][0],
                     g_events_tokens[0][1], g_events_tokens[0][2], g_events_tokens[0][3], g_events_tokens[1][0],
                     g_events_tokens[1][1], g_events_tokens[1][2], g_events_tokens[1][3], g_events_finish[0],
                     g_events_finish[1]);
    }
    ax_serving_free(e);
    return st;
}

/* ---- the driver ----------------------------------------------------------------------------------- */

static void run_scenario(const char *name, scenario_fn fn) {
    static char clean[512], got[512];
    /* a first run lets one-time initialisations settle; the second counts the allocations */
    atomic_store(&g_fail_at, 0);
    clean[0] = '\0';
    if (fn(clean, sizeof clean) != AX_OK) {
        TH_FAIL("%s: fails without injected failures: %s", name, ax_last_error());
        return;
    }
    const int64_t baseline = live_count();
    atomic_store(&g_count, 0);
    CHECK_OK(fn(clean, sizeof clean));
    const long long total = atomic_load(&g_count);
    CHECK_INT_EQ(live_count(), baseline);
    int runs = 0, oom = 0, recovered = 0, bad = 0;
    for (long long n = 1; n <= total; n += total <= 2000 ? 1 : total / 1000) {
        atomic_store(&g_count, 0);
        atomic_store(&g_failed, 0);
        atomic_store(&g_fail_at, n);
        got[0] = '\0';
        ax_clear_error();
        const ax_status st = fn(got, sizeof got);
        atomic_store(&g_fail_at, 0);
        runs++;
        const int64_t live = live_count();
        if (st == AX_OK) {
            recovered += atomic_load(&g_failed);
            if (strcmp(got, clean) != 0 && bad++ < 3)
                TH_FAIL("%s: allocation %lld failed and the call succeeded with other results:\n  %s\n  %s", name, n,
                        got, clean);
        } else if (st == AX_ERR_OUT_OF_MEMORY && ax_last_error()[0] != '\0') {
            oom++;
        } else if (bad++ < 3) {
            TH_FAIL("%s: allocation %lld failed: %s (%s), expected AX_ERR_OUT_OF_MEMORY with a message", name, n,
                    ax_status_string(st), ax_last_error());
        }
        if (live != baseline && bad++ < 3)
            TH_FAIL("%s: allocation %lld failed (%s): %lld allocations leaked", name, n, ax_status_string(st),
                    (long long)(live - baseline));
    }
    th_checks += runs;
    printf("  %s: %lld allocations; %d runs with one failing: %d out of memory, %d recovered (optional "
           "allocations), %d wrong\n",
           name, total, runs, oom, recovered, bad);
}

/* The machinery itself: the program's allocations are counted, tracked and failed on demand. */
static void test_machinery(void) {
    const int64_t before = live_count();
    atomic_store(&g_count, 0);
    atomic_store(&g_fail_at, 2);
    void *volatile a = malloc(16);
    void *volatile b = malloc(16);
    atomic_store(&g_fail_at, 0);
    CHECK(a != NULL);
    CHECK(b == NULL);
    CHECK_INT_EQ(atomic_load(&g_count), 2);
    CHECK_INT_EQ(live_count(), before + 1);
    void *volatile c = realloc(a, 4096);
    CHECK(c != NULL);
    CHECK_INT_EQ(live_count(), before + 1);
    free(c);
    CHECK_INT_EQ(live_count(), before);
}

static void test_parsers(void) {
    run_scenario("MSA parsers", scenario_msa);
    run_scenario("structure parsers", scenario_structures);
}

static void test_features(void) {
    run_scenario("MSA features, batch, figure", scenario_msa_features);
#ifdef AXIAL_TEST_STORE
    run_scenario("features and store", scenario_store);
#else
    printf("  skip the store: a build without HDF5\n");
#endif
}

static void test_ops(void) {
    run_scenario("flash attention", scenario_attention);
    run_scenario("Evoformer attention", scenario_evoformer);
}

static void test_llm(void) {
    if (g_model_path[0] == '\0' && th_partial_skip("no model file (scripts/fetch-model.sh)")) return;
    run_scenario("model, tokenizer, session", scenario_llm);
    atomic_store(&g_fail_at, 0);
    CHECK_OK(ax_llm_model_load(g_model_path, NULL, &g_model));
    if (g_model != NULL) run_scenario("chat template", scenario_chat);
    if (g_model != NULL) run_scenario("serving engine", scenario_serving);
    ax_llm_model_free(g_model);
}

int main(void) {
    dl_iterate_phdr(collect_ranges, NULL);
    if (g_ranges == 0) {
        printf("SKIP: cannot find the program's text\n");
        return 77;
    }
    snprintf(g_store_path, sizeof g_store_path, "/tmp/axial_alloc_failures_%d.h5", (int)getpid());
    snprintf(g_png_path, sizeof g_png_path, "/tmp/axial_alloc_failures_%d.png", (int)getpid());
    if (!th_model_path(g_model_path, sizeof g_model_path)) g_model_path[0] = '\0';
    atomic_store(&g_ready, 1);
    RUN(test_machinery);
    RUN(test_parsers);
    RUN(test_features);
    RUN(test_ops);
    RUN(test_llm);
    CHECK(!g_overflow);
    return th_finish();
}

/*
 * test_io_robustness.c — every parser on damaged input: prefixes of the real sample files (a
 * truncated download), random byte mutations, other formats and pure garbage. Each call must
 * return AX_OK or AX_ERR_FORMAT with a "source:line..." message and a NULL result, and leak
 * nothing (run under ASan/UBSan). A deterministic cousin of the libFuzzer targets in fuzz/.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <ctype.h>
#include <stdint.h>
#include <zlib.h>

#include "axial/io.h"
#include "harness.h"

#define DATA AXIAL_TEST_DATA

enum { FASTA, A3M, STOCKHOLM, MMCIF, PDB, NUM_PARSERS };
static const char *const parser_names[NUM_PARSERS] = {"fasta", "a3m", "stockholm", "mmcif", "pdb"};

/* Runs one parser on buf; returns its status and checks the contract on the way. */
static ax_status run_parser(int parser, const char *buf, size_t len, int *contract_broken) {
    static const char source[] = "damaged";
    ax_status st = AX_OK;
    void *result = (void *)&st; /* any non-NULL value: a failing parser must reset it */
    switch (parser) {
    case FASTA: {
        ax_fasta *f = (ax_fasta *)result;
        st = ax_fasta_parse(buf, len, source, &f);
        result = f;
        ax_fasta_destroy(f);
        break;
    }
    case A3M:
    case STOCKHOLM: {
        ax_msa *m = (ax_msa *)result;
        st = parser == A3M ? ax_a3m_parse(buf, len, source, &m) : ax_stockholm_parse(buf, len, source, &m);
        result = m;
        if (m != NULL && st == AX_OK) {
            /* Invariants of a successful result. */
            for (int64_t i = 0; i < m->num_rows * m->num_cols; i++) {
                const char c = m->residues[i];
                if (!((c >= 'A' && c <= 'Z') || c == '-') || m->deletions[i] < 0) *contract_broken = 1;
            }
            if (m->num_rows < 1 || m->num_cols < 1) *contract_broken = 1;
        }
        ax_msa_destroy(m);
        break;
    }
    case MMCIF:
    case PDB: {
        ax_structure *s = (ax_structure *)result;
        st = parser == MMCIF ? ax_mmcif_parse(buf, len, source, &s) : ax_pdb_parse(buf, len, source, &s);
        result = s;
        if (s != NULL && st == AX_OK) {
            for (int64_t c = 0; c < s->num_chains; c++) {
                const ax_chain *ch = &s->chains[c];
                if ((int64_t)strlen(ch->sequence) != ch->seq_len) *contract_broken = 1;
                for (int64_t r = 0; r < ch->num_residues; r++) {
                    const ax_residue *res = &ch->residues[r];
                    if (res->num_atoms < 1 || res->first_atom + res->num_atoms > ch->num_atoms ||
                        res->seq_index >= ch->seq_len || (res->seq_index >= 0 && !ch->resolved[res->seq_index]))
                        *contract_broken = 1;
                }
            }
        }
        ax_structure_destroy(s);
        break;
    }
    }
    if (st != AX_OK) {
        const char *err = ax_last_error();
        const size_t n = strlen(source);
        if (st != AX_ERR_FORMAT || result != NULL || strncmp(err, source, n) != 0 || err[n] != ':' ||
            !isdigit((unsigned char)err[n + 1]))
            *contract_broken = 1;
    }
    return st;
}

/* The whole file, decompressed when it is gzip. */
static char *load(const char *path, size_t *len) {
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL) return NULL;
    size_t cap = 1 << 20, used = 0;
    char *buf = malloc(cap);
    int got;
    while (buf != NULL && (got = gzread(gz, buf + used, (unsigned)(cap - used))) > 0) {
        used += (size_t)got;
        if (used == cap) {
            char *bigger = realloc(buf, cap *= 2);
            if (bigger == NULL) free(buf);
            buf = bigger;
        }
    }
    gzclose(gz);
    *len = used;
    return buf;
}

static const struct {
    const char *file;
    int parser;
} samples[] = {
    {"query.a3m", A3M}, {"globins4.sto", STOCKHOLM}, {"fn3.sto", STOCKHOLM}, {"1cbs.cif.gz", MMCIF}, {"1tii.pdb", PDB},
};
#define NUM_SAMPLES (sizeof samples / sizeof samples[0])

static char *sample_text[NUM_SAMPLES];
static size_t sample_len[NUM_SAMPLES];

static void test_load(void) {
    for (size_t i = 0; i < NUM_SAMPLES; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", DATA, samples[i].file);
        sample_text[i] = load(path, &sample_len[i]);
        CHECK(sample_text[i] != NULL && sample_len[i] > 0);
        int broken = 0;
        CHECK_OK(run_parser(samples[i].parser, sample_text[i], sample_len[i], &broken));
        CHECK_INT_EQ(broken, 0);
    }
}

/* Prefixes: every cut in the first and last 64 bytes, and 400 cut points between (100 for the two
 * large structure files, which keeps the test quick under sanitizers). */
static void test_prefixes(void) {
    for (size_t i = 0; i < NUM_SAMPLES; i++) {
        if (sample_text[i] == NULL) continue;
        const size_t len = sample_len[i];
        const size_t stride = len / (len > 65536 ? 100 : 400) + 1;
        int broken = 0, runs = 0;
        for (size_t cut = 0; cut <= len; cut += (cut < 64 || cut + 64 > len) ? 1 : stride) {
            run_parser(samples[i].parser, sample_text[i], cut, &broken);
            runs++;
        }
        if (broken) TH_FAIL("%s: a prefix broke the contract", samples[i].file);
        th_checks++;
        CHECK(runs > 100);
    }
}

/* Random mutations biased towards the bytes the formats care about. */
static void test_mutations(void) {
    static const char special[] = "\n\r\t ;'\"_#>.-?/0123456789ABab\0\xff";
    th_seed(20260101);
    for (size_t i = 0; i < NUM_SAMPLES; i++) {
        if (sample_text[i] == NULL) continue;
        /* Large files are cut to a window so the test stays quick: PDB from its first ATOM line to a
         * line boundary, A3M before a record; mmCIF is kept whole, with fewer rounds, since a cut would
         * end inside a loop; the Stockholm files are small and need their "//". */
        const char *start = sample_text[i];
        size_t len = sample_len[i];
        int rounds = 300;
        if (samples[i].parser == MMCIF) {
            rounds = 20;
        } else if (samples[i].parser == PDB || samples[i].parser == A3M) {
            if (samples[i].parser == PDB) { /* start at the atoms: the header has none */
                const char *atoms = strstr(start, "\nATOM ");
                if (atoms != NULL) start = atoms + 1;
            }
            len = sample_len[i] - (size_t)(start - sample_text[i]);
            if (len > 16384) len = 16384;
            while (len > 0 && !(start[len - 1] == '\n' && (samples[i].parser != A3M || start[len] == '>'))) len--;
        }
        char *copy = malloc(len);
        int broken = 0, ok = 0;
        for (int round = 0; round < rounds && copy != NULL; round++) {
            memcpy(copy, start, len);
            const int edits = 1 + (int)(th_rand_u64() % 8);
            for (int e = 0; e < edits; e++) {
                const size_t at = (size_t)(th_rand_u64() % len);
                const uint64_t pick = th_rand_u64();
                copy[at] = (pick & 1) ? special[(pick >> 1) % (sizeof special - 1)] : (char)(pick >> 8);
            }
            for (int parser = 0; parser < NUM_PARSERS; parser++) {
                const ax_status st = run_parser(parser, copy, len, &broken);
                ok += st == AX_OK && parser == samples[i].parser;
            }
        }
        free(copy);
        if (broken) TH_FAIL("%s: a mutation broke the contract", samples[i].file);
        th_checks++;
        printf("  %s: %d of %d mutants of %zu bytes still parse as %s\n", samples[i].file, ok, rounds, len,
               parser_names[samples[i].parser]);
    }
}

static void test_garbage(void) {
    th_seed(7);
    static char buf[4096];
    int broken = 0;
    for (int round = 0; round < 200; round++) {
        const size_t len = (size_t)(th_rand_u64() % sizeof buf);
        for (size_t k = 0; k < len; k++) buf[k] = (char)th_rand_u64();
        for (int parser = 0; parser < NUM_PARSERS; parser++) run_parser(parser, buf, len, &broken);
    }
    /* Each sample through every other parser. */
    for (size_t i = 0; i < NUM_SAMPLES; i++)
        for (int parser = 0; parser < NUM_PARSERS && sample_text[i] != NULL; parser++)
            run_parser(parser, sample_text[i], sample_len[i], &broken);
    CHECK_INT_EQ(broken, 0);
    for (size_t i = 0; i < NUM_SAMPLES; i++) free(sample_text[i]);
}

int main(void) {
    RUN(test_load);
    RUN(test_prefixes);
    RUN(test_mutations);
    RUN(test_garbage);
    return th_finish();
}

/*
 * stockholm.c — Stockholm alignments (HMMER, Pfam) to the AlphaFold MSA representation.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "axial/io.h"
#include "core/internal.h"
#include "core/grow.h"
#include "io/line_reader.h"
#include "io/msa_builder.h"
#include "core/strmap.h"

typedef struct sto_sequence {
    char *aligned;       /* the row as written, blocks concatenated */
    int64_t aligned_len;
    int64_t aligned_cap;
    int64_t last_block;  /* block that last extended this row, to catch a name twice in one block */
    int64_t last_line;   /* line that last extended this row, for messages */
    int64_t name_offset; /* into names */
} sto_sequence;

typedef struct sto_state {
    ax_line_reader lr;
    ax_strmap index;        /* name -> position in seqs */
    ax_strmap markup_names; /* names on #=GS/#=GR lines not (yet) seen as sequences -> 2 * line + is_gr */
    sto_sequence *seqs;
    int64_t num_seqs;
    int64_t seqs_cap;
    char *names;            /* NUL-terminated names back to back */
    int64_t names_len;
    int64_t names_cap;
    int64_t block;          /* current block number: blank lines separate blocks */
    int in_block;           /* a sequence line was seen since the last blank line */
} sto_state;

static int is_gap(char c) { return c == '-' || c == '.'; }
static int is_letter(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
static int is_blank_char(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static ax_status add_sequence_line(sto_state *s) {
    const char *line = s->lr.line;
    const size_t len = s->lr.line_len;
    if (is_blank_char(line[0]))
        return ax_line_fail(&s->lr, AX_ERR_FORMAT, 1, "expected a sequence name at the start of the line");
    size_t name_end = 0;
    while (name_end < len && !is_blank_char(line[name_end])) name_end++;
    size_t seq_start = name_end;
    while (seq_start < len && is_blank_char(line[seq_start])) seq_start++;
    size_t seq_end = len;
    while (seq_end > seq_start && is_blank_char(line[seq_end - 1])) seq_end--;
    if (seq_start == seq_end)
        return ax_line_fail(&s->lr, AX_ERR_FORMAT, (int64_t)name_end + 1,
                            "expected 'name aligned-sequence', found only '%s'", ax_quote(line).text);
    for (size_t i = seq_start; i < seq_end; i++) {
        if (is_letter(line[i]) || is_gap(line[i])) continue;
        if (is_blank_char(line[i]))
            return ax_line_fail(&s->lr, AX_ERR_FORMAT, (int64_t)i + 1,
                                "expected 'name aligned-sequence', found more than two fields");
        return ax_line_fail(&s->lr, AX_ERR_FORMAT, (int64_t)i + 1, "unexpected character 0x%02x in sequence '%.*s'",
                            (unsigned char)line[i], (int)(name_end < 80 ? name_end : 80), line);
    }

    int64_t index = 0;
    if (!ax_strmap_find(&s->index, line, name_end, &index)) {
        index = s->num_seqs;
        AX_CHECK(ax_strmap_add(&s->index, line, name_end, index));
        AX_CHECK(ax_grow((void **)&s->seqs, &s->seqs_cap, s->num_seqs + 1, sizeof *s->seqs));
        AX_CHECK(ax_grow((void **)&s->names, &s->names_cap, s->names_len + (int64_t)name_end + 1, 1));
        memset(&s->seqs[index], 0, sizeof s->seqs[index]);
        s->seqs[index].last_block = -1;
        s->seqs[index].name_offset = s->names_len;
        memcpy(s->names + s->names_len, line, name_end);
        s->names[s->names_len + (int64_t)name_end] = '\0';
        s->names_len += (int64_t)name_end + 1;
        s->num_seqs++;
    }
    sto_sequence *seq = &s->seqs[index];
    if (seq->last_block == s->block)
        return ax_line_fail(&s->lr, AX_ERR_FORMAT, 1, "sequence '%s' appears twice in one block (first on line %lld)",
                            ax_quote(s->names + seq->name_offset).text, (long long)seq->last_line);
    const int64_t add = (int64_t)(seq_end - seq_start);
    AX_CHECK(ax_grow((void **)&seq->aligned, &seq->aligned_cap, seq->aligned_len + add, 1));
    memcpy(seq->aligned + seq->aligned_len, line + seq_start, (size_t)add);
    seq->aligned_len += add;
    seq->last_block = s->block;
    seq->last_line = s->lr.line_no;
    s->in_block = 1;
    return AX_OK;
}

/* The blank-separated field of `line` that starts at or after `from`: [*start, *end). Returns 0 when
 * only blanks remain. */
static int next_field(const char *line, size_t len, size_t from, size_t *start, size_t *end) {
    while (from < len && is_blank_char(line[from])) from++;
    if (from == len) return 0;
    *start = from;
    while (from < len && !is_blank_char(line[from])) from++;
    *end = from;
    return 1;
}

/* A markup line ("#=" first), checked as HMMER's parser checks it; the content is not kept (the
 * features need none of it), but a malformed line means the file is not what it claims to be:
 *   #=GF <tag> <text>    #=GS <seqname> <tag> <text>    #=GR <seqname> <tag> <annotation>
 *   #=GC <tag> <annotation>
 * The text of a #=GS line may be empty, as HMMER allows for its DE and custom tags. Stricter than
 * HMMER on one point: every #=GF line needs a value, where HMMER insists only for ID, AC and its
 * score cutoffs; a tag alone is most likely a cut line. A #=GS/#=GR name may come before its
 * sequence's first line (Pfam puts every #=GS line first), so names not yet seen are remembered and
 * checked at "//" (check_markup_names). */
static ax_status check_markup(sto_state *s) {
    const char *line = s->lr.line;
    const size_t len = s->lr.line_len;
    size_t kind_end = 0;
    while (kind_end < len && !is_blank_char(line[kind_end])) kind_end++;
    static const struct {
        const char *kind;
        int names_sequence; /* the first field after the kind is a sequence name */
        int fields;         /* fields required after the kind */
        const char *field_names[3];
    } kinds[4] = {
        {"#=GF", 0, 2, {"a tag", "a value after its tag", NULL}},
        {"#=GS", 1, 2, {"a sequence name", "a tag after the sequence name", NULL}},
        {"#=GR", 1, 3, {"a sequence name", "a tag after the sequence name", "annotation after its tag"}},
        {"#=GC", 0, 2, {"a tag", "annotation after its tag", NULL}},
    };
    int k = 0;
    while (k < 4 && !(kind_end == 4 && memcmp(line, kinds[k].kind, 4) == 0)) k++;
    if (k == 4)
        return ax_line_fail(&s->lr, AX_ERR_FORMAT, 1,
                            "unknown markup '%.*s' (Stockholm markup is #=GF, #=GS, #=GR or #=GC)",
                            (int)(kind_end < 40 ? kind_end : 40), line);
    size_t start = 0, end = kind_end, name_start = 0, name_end = 0;
    for (int f = 0; f < kinds[k].fields; f++) {
        if (!next_field(line, len, end, &start, &end))
            return ax_line_fail(&s->lr, AX_ERR_FORMAT, (int64_t)end + 1, "%s line without %s", kinds[k].kind,
                                kinds[k].field_names[f]);
        if (f == 0) {
            name_start = start;
            name_end = end;
        }
    }
    if (!kinds[k].names_sequence) return AX_OK;
    const char *name = line + name_start;
    const size_t name_len = name_end - name_start;
    int64_t unused = 0;
    if (ax_strmap_find(&s->index, name, name_len, &unused) || ax_strmap_find(&s->markup_names, name, name_len, &unused))
        return AX_OK;
    return ax_strmap_add(&s->markup_names, name, name_len, 2 * s->lr.line_no + (k == 2));
}

/* At "//": every #=GS/#=GR line must name a sequence of the alignment (HMMER refuses the file
 * otherwise). Reports the earliest such line. */
static ax_status check_markup_names(const sto_state *s) {
    const ax_strmap *names = &s->markup_names;
    int64_t first = -1, first_slot = -1;
    for (int64_t i = 0; i < names->num_slots; i++) {
        const ax_strmap_slot *slot = &names->slots[i];
        int64_t unused = 0;
        if (slot->key_offset < 0 ||
            ax_strmap_find(&s->index, names->keys + slot->key_offset, (size_t)slot->key_len, &unused))
            continue;
        if (first < 0 || slot->value < first) {
            first = slot->value;
            first_slot = i;
        }
    }
    if (first < 0) return AX_OK;
    const ax_strmap_slot *slot = &names->slots[first_slot];
    return ax_io_fail(AX_ERR_FORMAT, s->lr.source, first / 2, 0,
                      "%s line names sequence '%.*s', which has no sequence lines in the alignment",
                      first % 2 ? "#=GR" : "#=GS", (int)(slot->key_len < 80 ? slot->key_len : 80),
                      names->keys + slot->key_offset);
}

/* AlphaFold's conversion: keep the query's residue columns; a residue of another row in a dropped
 * column is a deletion, counted into the next kept column. */
static ax_status convert(sto_state *s, ax_msa **out) {
    if (s->num_seqs == 0) return ax_line_fail(&s->lr, AX_ERR_FORMAT, 0, "alignment has no sequences");
    const sto_sequence *query = &s->seqs[0];
    for (int64_t i = 1; i < s->num_seqs; i++) {
        const sto_sequence *seq = &s->seqs[i];
        if (seq->aligned_len != query->aligned_len)
            return ax_io_fail(AX_ERR_FORMAT, s->lr.source, seq->last_line, 0,
                              "sequence '%s' has %lld aligned columns but '%s' (the first) has %lld",
                              ax_quote(s->names + seq->name_offset).text, (long long)seq->aligned_len,
                              ax_quote(s->names + query->name_offset).text, (long long)query->aligned_len);
    }
    int64_t num_cols = 0;
    for (int64_t c = 0; c < query->aligned_len; c++) num_cols += !is_gap(query->aligned[c]);
    if (num_cols == 0)
        return ax_io_fail(AX_ERR_FORMAT, s->lr.source, query->last_line, 0, "query '%s' has only gaps",
                          ax_quote(s->names + query->name_offset).text);

    ax_msa_builder msa;
    memset(&msa, 0, sizeof msa);
    char *row = malloc((size_t)num_cols);
    int32_t *deletions = malloc((size_t)num_cols * sizeof *deletions);
    ax_status st = AX_OK;
    if (row == NULL || deletions == NULL) {
        st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: Stockholm row of %lld columns", (long long)num_cols);
        goto cleanup;
    }
    for (int64_t i = 0; i < s->num_seqs; i++) {
        const char *aligned = s->seqs[i].aligned;
        int64_t col = 0, pending = 0;
        for (int64_t c = 0; c < query->aligned_len; c++) {
            if (is_gap(query->aligned[c])) {
                pending += !is_gap(aligned[c]);
                continue;
            }
            const char r = aligned[c];
            row[col] = is_gap(r) ? '-' : (r >= 'a' && r <= 'z') ? (char)(r - 'a' + 'A') : r;
            deletions[col] = pending > INT32_MAX ? INT32_MAX : (int32_t)pending;
            pending = 0;
            col++;
        }
        const char *name = s->names + s->seqs[i].name_offset;
        AX_CHECK_GOTO(ax_msa_builder_append(&msa, name, strlen(name), row, deletions, num_cols), st, cleanup);
    }
    st = ax_msa_builder_finish(&msa, out);
cleanup:
    ax_msa_builder_free(&msa);
    free(row);
    free(deletions);
    return st;
}

static ax_status parse_lines(sto_state *s, ax_msa **out) {
    int header_seen = 0;
    for (;;) {
        int has_line = 0;
        AX_CHECK(ax_line_reader_next(&s->lr, &has_line));
        if (!has_line) break;
        const char *line = s->lr.line;
        const size_t len = s->lr.line_len;
        size_t first = 0;
        while (first < len && is_blank_char(line[first])) first++;
        if (!header_seen) {
            if (first == len) continue;
            if (strncmp(line, "# STOCKHOLM 1.", 14) != 0)
                return ax_line_fail(&s->lr, AX_ERR_FORMAT, 1, "expected the header '# STOCKHOLM 1.0'");
            header_seen = 1;
            continue;
        }
        if (first == len) {
            if (s->in_block) s->block++;
            s->in_block = 0;
            continue;
        }
        if (line[0] == '#') { /* markup, or a comment (any other '#' line) */
            if (len >= 2 && line[1] == '=') AX_CHECK(check_markup(s));
            continue;
        }
        if (line[0] == '/' && len >= 2 && line[1] == '/') {
            AX_CHECK(check_markup_names(s));
            return convert(s, out);
        }
        AX_CHECK(add_sequence_line(s));
    }
    if (!header_seen) return ax_line_fail(&s->lr, AX_ERR_FORMAT, 0, "empty input: expected '# STOCKHOLM 1.0'");
    return ax_line_fail(&s->lr, AX_ERR_FORMAT, 0, "missing '//' at the end of the alignment (truncated file?)");
}

static ax_status stockholm_run(sto_state *s, ax_msa **out) {
    ax_status st = parse_lines(s, out);
    for (int64_t i = 0; i < s->num_seqs; i++) free(s->seqs[i].aligned);
    free(s->seqs);
    free(s->names);
    ax_strmap_free(&s->index);
    ax_strmap_free(&s->markup_names);
    ax_line_reader_close(&s->lr);
    return st;
}

ax_status ax_stockholm_read(const char *path, ax_msa **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    sto_state s;
    memset(&s, 0, sizeof s);
    AX_CHECK(ax_line_reader_open_path(&s.lr, path));
    return stockholm_run(&s, out);
}

ax_status ax_stockholm_parse(const char *buf, size_t len, const char *source_name, ax_msa **out) {
    if (out == NULL) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "out is NULL");
    *out = NULL;
    if (buf == NULL && len > 0) return ax_set_error(AX_ERR_INVALID_ARGUMENT, "buf is NULL but len is %zu", len);
    sto_state s;
    memset(&s, 0, sizeof s);
    ax_line_reader_open_memory(&s.lr, buf, len, source_name);
    return stockholm_run(&s, out);
}

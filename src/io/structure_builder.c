/*
 * structure_builder.c — atom table -> ax_structure, and ax_structure_destroy.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include "io/structure_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "core/grow.h"
#include "io/line_reader.h"
#include "io/residues.h"

typedef struct chain_build {
    ax_chain chain;                          /* the result being filled */
    int64_t residues_cap, atoms_cap, sequence_cap, resolved_cap;
    int has_polymer;                         /* the polymer's asym id is known */
    char polymer_asym[AX_STRUCTURE_ID_CAP];
    const ax_entity_seq *entity;             /* the polymer's sequence, or NULL: built in file order */
    /* Key of the residue that took the last record: the next record usually continues it. */
    int64_t current;                         /* its index into residues */
    char last_asym[AX_STRUCTURE_ID_CAP];
    int32_t last_num;
    char last_ins;
    int32_t last_label_seq;
    int8_t last_polymer;
    /* Every residue by its key (residue_key), so that records of a residue split by other
     * residues' records join it, as Biopython (AlphaFold's reader) joins them. Atoms are chained
     * per residue while reading (atom_next, residue_tail) and grouped by residue at the end when
     * such a split occurred (scattered). */
    ax_strmap residue_index;
    /* Every atom by (residue index, atom name), for the alternate-location rule: a walk over the
     * residue's atoms per record had made a residue of N atoms (a hostile HETATM group) cost N^2. */
    ax_strmap atom_index;
    int64_t *atom_next, atom_next_cap;       /* next atom of the same residue, -1 after its last */
    int64_t *residue_tail, residue_tail_cap; /* last atom of each residue */
    char (*raw_names)[AX_STRUCTURE_ID_CAP];  /* residue names as written, before MSE -> MET */
    int64_t raw_names_cap;
    int scattered;
    ax_polymer_census census;                /* the polymer's residues by kind */
} chain_build;

typedef struct build_state {
    const ax_structure_input *in;
    chain_build *chains;
    int64_t num_chains;
    int64_t chains_cap;
    ax_strmap chain_index;                   /* author chain id -> index into chains */
} build_state;

static void free_chain(ax_chain *c) {
    free(c->sequence);
    free(c->resolved);
    free(c->residues);
    free(c->atoms);
}

static void free_chain_build(chain_build *c) {
    free_chain(&c->chain);
    ax_strmap_free(&c->residue_index);
    ax_strmap_free(&c->atom_index);
    free(c->atom_next);
    free(c->residue_tail);
    free(c->raw_names);
}

void ax_structure_destroy(ax_structure *structure) {
    if (structure == NULL) return;
    for (int64_t i = 0; i < structure->num_chains; i++) free_chain(&structure->chains[i]);
    free(structure->chains);
    free(structure);
}

static ax_status find_or_add_chain(build_state *s, const ax_atom_record *r, chain_build **out) {
    int64_t index = 0;
    const size_t id_len = strlen(r->chain_id);
    if (!ax_strmap_find(&s->chain_index, r->chain_id, id_len, &index)) {
        index = s->num_chains;
        AX_CHECK(ax_grow((void **)&s->chains, &s->chains_cap, s->num_chains + 1, sizeof *s->chains));
        AX_CHECK(ax_strmap_add(&s->chain_index, r->chain_id, id_len, index));
        chain_build *c = &s->chains[index];
        memset(c, 0, sizeof *c);
        s->num_chains++;
        memcpy(c->chain.id, r->chain_id, sizeof c->chain.id);
        memcpy(c->chain.label_id, r->asym_id, sizeof c->chain.label_id);
        AX_CHECK(ax_grow((void **)&c->chain.sequence, &c->sequence_cap, 1, 1));
        c->chain.sequence[0] = '\0';
    }
    *out = &s->chains[index];
    return AX_OK;
}

/* Fixes the chain's polymer at its first polymer record: its asym id, entity and sequence. */
static ax_status start_polymer(const build_state *s, chain_build *c, const ax_atom_record *r) {
    c->has_polymer = 1;
    memcpy(c->polymer_asym, r->asym_id, sizeof c->polymer_asym);
    memcpy(c->chain.label_id, r->asym_id, sizeof c->chain.label_id);
    memcpy(c->chain.entity_id, r->entity_id, sizeof c->chain.entity_id);
    int64_t entity = 0;
    if (s->in->entity_index == NULL || r->label_seq == AX_NO_LABEL_SEQ ||
        !ax_strmap_find(s->in->entity_index, r->entity_id, strlen(r->entity_id), &entity))
        return AX_OK;
    c->entity = &s->in->entities[entity];
    const int64_t len = c->entity->len;
    char *sequence = malloc((size_t)len + 1);
    uint8_t *resolved = calloc((size_t)len + 1, 1);
    if (sequence == NULL || resolved == NULL) {
        free(sequence);
        free(resolved);
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: chain sequence of %lld", (long long)len);
    }
    memcpy(sequence, c->entity->one_letter, (size_t)len + 1);
    free(c->chain.sequence);
    c->chain.sequence = sequence;
    c->chain.resolved = resolved;
    c->chain.seq_len = len;
    c->sequence_cap = len + 1;
    c->resolved_cap = len + 1;
    return AX_OK;
}

/* Position of `num` in the sorted nums, or -1. */
static int64_t find_num(const int32_t *nums, int64_t len, int32_t num) {
    int64_t lo = 0, hi = len;
    while (lo < hi) {
        const int64_t mid = lo + (hi - lo) / 2;
        if (nums[mid] < num) lo = mid + 1;
        else hi = mid;
    }
    return lo < len && nums[lo] == num ? lo : -1;
}

/* The sequence index of a new polymer residue, marking it resolved. */
static ax_status place_in_sequence(const build_state *s, chain_build *c, const ax_atom_record *r, char one_letter,
                                   int64_t *seq_index) {
    int64_t index;
    if (c->entity != NULL) {
        index = find_num(c->entity->nums, c->entity->len, r->label_seq);
        if (index < 0)
            return ax_io_fail(AX_ERR_FORMAT, s->in->source, r->line, 0,
                              "residue %s %d of chain %s has label_seq_id %d, which _entity_poly_seq of entity %s "
                              "does not list",
                              r->res_name, r->res_num, r->chain_id, r->label_seq, r->entity_id);
    } else {
        index = c->chain.seq_len;
        AX_CHECK(ax_grow((void **)&c->chain.sequence, &c->sequence_cap, index + 2, 1));
        AX_CHECK(ax_grow((void **)&c->chain.resolved, &c->resolved_cap, index + 1, 1));
        c->chain.sequence[index] = one_letter;
        c->chain.sequence[index + 1] = '\0';
        c->chain.resolved[index] = 0;
        c->chain.seq_len = index + 1;
    }
    if (c->chain.resolved[index]) {
        const char ins[2] = {r->ins_code == ' ' ? '\0' : r->ins_code, '\0'};
        return ax_io_fail(AX_ERR_FORMAT, s->in->source, r->line, 0,
                          "residue %s %d%s of chain %s takes sequence position %lld, which another residue (other "
                          "author number, insertion code or chain) already holds",
                          r->res_name, r->res_num, ins, r->chain_id, (long long)index + 1);
    }
    c->chain.resolved[index] = 1;
    *seq_index = index;
    return AX_OK;
}

/* The key that names a residue within its chain: asym id, number, insertion code, label_seq and
 * polymer flag, and for a ligand or water its name too (Biopython's hetero field), so that a
 * ligand numbered like a polymer residue stays apart from it. Returns the key's length. */
static size_t residue_key(const ax_atom_record *r, char *key, size_t cap) {
    const int n = snprintf(key, cap, "%s|%d|%c|%d|%d|%s", r->asym_id, (int)r->res_num, r->ins_code,
                           (int)r->label_seq, (int)r->polymer, r->polymer ? "" : r->res_name);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static void set_current(chain_build *c, int64_t index, const ax_atom_record *r) {
    c->current = index;
    memcpy(c->last_asym, r->asym_id, sizeof c->last_asym);
    c->last_num = r->res_num;
    c->last_ins = r->ins_code;
    c->last_label_seq = r->label_seq;
    c->last_polymer = r->polymer;
}

static ax_status start_residue(const build_state *s, chain_build *c, const ax_atom_record *r, const char *key,
                               size_t key_len) {
    const int64_t index = c->chain.num_residues;
    AX_CHECK(ax_grow((void **)&c->chain.residues, &c->residues_cap, index + 1, sizeof *c->chain.residues));
    AX_CHECK(ax_grow((void **)&c->residue_tail, &c->residue_tail_cap, index + 1, sizeof *c->residue_tail));
    AX_CHECK(ax_grow((void **)&c->raw_names, &c->raw_names_cap, index + 1, sizeof *c->raw_names));
    const int is_mse = strcmp(r->res_name, "MSE") == 0;
    ax_residue res;
    memset(&res, 0, sizeof res);
    memcpy(res.name, is_mse ? "MET" : r->res_name, is_mse ? 4 : sizeof res.name);
    res.one_letter = ax_residue_one_letter(s->in->parents, r->res_name);
    res.ins_code = r->ins_code;
    res.number = r->res_num;
    res.seq_index = -1;
    res.first_atom = -1;
    if (r->polymer) {
        if (!c->has_polymer) AX_CHECK(start_polymer(s, c, r));
        /* A second polymer under the same author chain (rare) is kept as non-polymer residues. */
        if (strcmp(c->polymer_asym, r->asym_id) == 0) {
            AX_CHECK(place_in_sequence(s, c, r, res.one_letter, &res.seq_index));
            ax_polymer_census_add(&c->census, s->in->parents, r->res_name);
        }
    }
    AX_CHECK(ax_strmap_add(&c->residue_index, key, key_len, index));
    c->chain.residues[index] = res;
    c->residue_tail[index] = -1;
    memcpy(c->raw_names[index], r->res_name, sizeof c->raw_names[index]);
    c->chain.num_residues = index + 1;
    set_current(c, index, r);
    return AX_OK;
}

/* The record continues the current residue: the same key as residue_key's, compared in place. */
static int same_residue(const chain_build *c, const ax_atom_record *r) {
    return c->chain.num_residues > 0 && c->last_num == r->res_num && c->last_ins == r->ins_code &&
           c->last_label_seq == r->label_seq && c->last_polymer == r->polymer &&
           strcmp(c->last_asym, r->asym_id) == 0 && (r->polymer || strcmp(c->raw_names[c->current], r->res_name) == 0);
}

/* The residue the record belongs to: the current one, an earlier one it continues, or a new one. */
static ax_status find_or_start_residue(const build_state *s, chain_build *c, const ax_atom_record *r) {
    if (same_residue(c, r)) return AX_OK;
    char key[3 * AX_STRUCTURE_ID_CAP + 48];
    const size_t key_len = residue_key(r, key, sizeof key);
    int64_t index = 0;
    if (!ax_strmap_find(&c->residue_index, key, key_len, &index)) return start_residue(s, c, r, key, key_len);
    c->scattered = 1;
    set_current(c, index, r);
    return AX_OK;
}

static ax_status add_record(build_state *s, const ax_atom_record *r) {
    chain_build *c = NULL;
    AX_CHECK(find_or_add_chain(s, r, &c));
    AX_CHECK(find_or_start_residue(s, c, r));
    /* Another residue at the same position (point heterogeneity): the first one wins. */
    if (strcmp(c->raw_names[c->current], r->res_name) != 0) return AX_OK;
    ax_residue *res = &c->chain.residues[c->current];
    ax_atom atom;
    memset(&atom, 0, sizeof atom);
    const int se_to_sd = strcmp(r->res_name, "MSE") == 0 && strcmp(r->atom_name, "SE") == 0;
    memcpy(atom.name, se_to_sd ? "SD" : r->atom_name, se_to_sd ? 3 : sizeof atom.name);
    memcpy(atom.element, r->element, sizeof atom.element);
    atom.x = r->x;
    atom.y = r->y;
    atom.z = r->z;
    atom.occupancy = r->occupancy;
    atom.b_factor = r->b_factor;
    /* Alternate locations: one atom per name, the most occupied (the first on ties). */
    char key[sizeof c->current + sizeof atom.name];
    memcpy(key, &c->current, sizeof c->current);
    const size_t name_len = strnlen(atom.name, sizeof atom.name);
    memcpy(key + sizeof c->current, atom.name, name_len);
    int64_t seen = 0;
    if (ax_strmap_find(&c->atom_index, key, sizeof c->current + name_len, &seen)) {
        if (atom.occupancy > c->chain.atoms[seen].occupancy) c->chain.atoms[seen] = atom;
        return AX_OK;
    }
    const int64_t a = c->chain.num_atoms;
    AX_CHECK(ax_strmap_add(&c->atom_index, key, sizeof c->current + name_len, a));
    AX_CHECK(ax_grow((void **)&c->chain.atoms, &c->atoms_cap, a + 1, sizeof *c->chain.atoms));
    AX_CHECK(ax_grow((void **)&c->atom_next, &c->atom_next_cap, a + 1, sizeof *c->atom_next));
    c->chain.atoms[a] = atom;
    c->atom_next[a] = -1;
    if (res->first_atom < 0) res->first_atom = a;
    else c->atom_next[c->residue_tail[c->current]] = a;
    c->residue_tail[c->current] = a;
    c->chain.num_atoms = a + 1;
    res->num_atoms++;
    return AX_OK;
}

/* Makes each residue's atoms contiguous, residues in order of first appearance, each residue's
 * atoms in file order. Only needed when a residue's records were split by others'. */
static ax_status group_atoms(chain_build *c) {
    if (!c->scattered) return AX_OK;
    ax_atom *grouped = malloc((size_t)c->chain.num_atoms * sizeof *grouped);
    if (grouped == NULL)
        return ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: %lld atoms of chain %s",
                            (long long)c->chain.num_atoms, c->chain.id);
    int64_t n = 0;
    for (int64_t r = 0; r < c->chain.num_residues; r++) {
        ax_residue *res = &c->chain.residues[r];
        const int64_t first = n;
        for (int64_t i = res->first_atom; i >= 0; i = c->atom_next[i]) grouped[n++] = c->chain.atoms[i];
        res->first_atom = first;
    }
    free(c->chain.atoms);
    c->chain.atoms = grouped;
    c->atoms_cap = c->chain.num_atoms;
    return AX_OK;
}

ax_status ax_structure_assemble(const ax_structure_input *in, ax_structure **out) {
    *out = NULL;
    build_state s;
    memset(&s, 0, sizeof s);
    s.in = in;
    ax_status st = AX_OK;
    for (int64_t i = 0; i < in->num_atoms; i++) AX_CHECK_GOTO(add_record(&s, &in->atoms[i]), st, cleanup);
    for (int64_t i = 0; i < s.num_chains; i++) AX_CHECK_GOTO(group_atoms(&s.chains[i]), st, cleanup);
    ax_structure *structure = calloc(1, sizeof *structure);
    ax_chain *chains = calloc((size_t)s.num_chains + 1, sizeof *chains);
    if (structure == NULL || chains == NULL) {
        free(structure);
        free(chains);
        st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: structure");
        goto cleanup;
    }
    for (int64_t i = 0; i < s.num_chains; i++) {
        chains[i] = s.chains[i].chain;
        chains[i].polymer_type =
            s.chains[i].has_polymer ? ax_polymer_census_type(&s.chains[i].census) : AX_POLYMER_NONE;
        if (chains[i].resolved == NULL) chains[i].resolved = calloc(1, 1); /* never NULL for callers */
        memset(&s.chains[i].chain, 0, sizeof s.chains[i].chain);
    }
    structure->resolution = in->resolution;
    structure->num_chains = s.num_chains;
    structure->chains = chains;
    for (int64_t i = 0; i < s.num_chains; i++) {
        if (chains[i].resolved == NULL) {
            ax_structure_destroy(structure);
            st = ax_set_error(AX_ERR_OUT_OF_MEMORY, "out of memory: structure");
            goto cleanup;
        }
    }
    *out = structure;
cleanup:
    for (int64_t i = 0; i < s.num_chains; i++) free_chain_build(&s.chains[i]);
    free(s.chains);
    ax_strmap_free(&s.chain_index);
    return st;
}

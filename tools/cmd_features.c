/*
 * cmd_features.c — `axial features build|show|plot`: parse MSAs and structures into AlphaFold-style
 * features, keep them in an HDF5 feature store, and draw them. One clear line on bad input, non-zero
 * exit, and no output file left behind (the store and PNG writers are atomic).
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "axial/figures.h"
#include "axial/io.h"
#include "axial/store.h"
#include "cli.h"

static int fail(const char *what) {
    fprintf(stderr, "axial features: %s: %s\n", what, ax_last_error());
    return 1;
}

static int usage_error(const char *message) {
    fprintf(stderr, "axial features: %s (see `axial features --help`)\n", message);
    return 2;
}

/* A value option given twice had been last-wins (--mmcif A --pdb B built from B alone). */
static int take_once(const char **slot, const char *value, const char *option) {
    if (*slot != NULL) {
        fprintf(stderr, "axial features: %s given twice (see `axial features --help`)\n", option);
        return 2;
    }
    *slot = value;
    return 0;
}

/* 1 when out names an existing file that is also the input `in` (same device and inode, whatever
 * the names or links): writing it would replace the input (`plot st.h5 -o st.h5` had turned the
 * store into a PNG). */
static int same_file(const char *out, const char *in) {
    struct stat a, b;
    return in != NULL && stat(out, &a) == 0 && stat(in, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static int output_is_input(const char *out, const char *in, const char *in_option) {
    if (!same_file(out, in)) return 0;
    fprintf(stderr, "axial features: -o %s is the input %s %s: refusing to overwrite it\n", out, in_option, in);
    return 1;
}

static int is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

static void features_usage(FILE *out) {
    fprintf(out,
            "usage:\n"
            "  axial features build [--fasta F | --a3m F | --sto F]... [--mmcif F | --pdb F] [--chain ID]\n"
            "                       --name NAME -o STORE.h5 [--replace] [--compress-msa[=LEVEL]] [--no-dedup]\n"
            "      Parses the inputs, makes the chain's features and adds them to STORE.h5 (created if\n"
            "      missing; --replace starts a new store). Several MSAs are concatenated in the order\n"
            "      given (same query); as in AlphaFold, a row whose aligned letters repeat an earlier\n"
            "      row, in the same MSA or an earlier one, is dropped (--no-dedup keeps every row).\n"
            "      With a structure, the first MSA's query must match the chain.\n"
            "      --compress-msa deflates the chain's MSA arrays (LEVEL 1..9, default 1): 3-5x\n"
            "      smaller, training batches 2.5-3x slower to read (docs/feature-store.md).\n"
            "  axial features show STORE.h5 [--chain NAME]\n"
            "  axial features plot STORE.h5 --chain NAME --kind msa|distance|contact -o OUT.png\n"
            "      Draws a labelled figure of the chain's MSA identity to the query, C-alpha distances or\n"
            "      contacts (< 8 A). An MSA deeper than %d rows is drawn with each line the mean of\n"
            "      ceil(depth / %d) consecutive rows (the labels and the printed line say so); chains\n"
            "      of more than %d residues are refused.\n",
            AX_CHAIN_MAP_MAX_ROWS, AX_CHAIN_MAP_MAX_ROWS, AX_CHAIN_MAP_MAX_ROWS);
}

/* The chain named, or without a name the first protein chain: DNA and RNA chains are skipped, as
 * AlphaFold's pipeline skips them (naming one gets the features' refusal instead). */
static const ax_chain *pick_chain(const ax_structure *s, const char *chain_id, const char *path) {
    for (int64_t c = 0; c < s->num_chains; c++) {
        const ax_chain *ch = &s->chains[c];
        if (chain_id != NULL ? strcmp(ch->id, chain_id) == 0 : ch->polymer_type == AX_POLYMER_PROTEIN) return ch;
    }
    if (chain_id != NULL) fprintf(stderr, "axial features: %s: no chain '%s'\n", path, chain_id);
    else fprintf(stderr, "axial features: %s: no protein chain\n", path);
    return NULL;
}

static int cmd_build(int argc, char **argv) {
    const char *msa_paths[16], *msa_kinds[16];
    int n_msa = 0;
    const char *fasta = NULL, *structure = NULL, *structure_kind = NULL, *chain_id = NULL, *name = NULL, *out = NULL;
    int replace = 0, msa_level = 0, keep_duplicate_rows = 0;
    int level_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if ((strcmp(a, "--a3m") == 0 || strcmp(a, "--sto") == 0) && v) {
            if (n_msa == 16) return usage_error("at most 16 MSAs");
            msa_kinds[n_msa] = a + 2;
            msa_paths[n_msa++] = v;
            i++;
        } else if (strcmp(a, "--fasta") == 0 && v) {
            rc = take_once(&fasta, v, a);
            i++;
        } else if ((strcmp(a, "--mmcif") == 0 || strcmp(a, "--pdb") == 0) && v) {
            rc = take_once(&structure, v, "--mmcif/--pdb");
            structure_kind = a + 2;
            i++;
        } else if (strcmp(a, "--chain") == 0 && v) {
            rc = take_once(&chain_id, v, a);
            i++;
        } else if (strcmp(a, "--name") == 0 && v) {
            rc = take_once(&name, v, a);
            i++;
        } else if (strcmp(a, "-o") == 0 && v) {
            rc = take_once(&out, v, a);
            i++;
        } else if (strcmp(a, "--replace") == 0) {
            replace = 1;
        } else if (strcmp(a, "--no-dedup") == 0) {
            keep_duplicate_rows = 1;
        } else if (strcmp(a, "--compress-msa") == 0 || strncmp(a, "--compress-msa=", 15) == 0) {
            if (level_given++) return usage_error("--compress-msa given twice");
            /* One digit, so "--compress-msa=" alone, "=1x" or "=10" are not read as something else. */
            const char *level = a[14] == '=' ? a + 15 : "1";
            if (level[0] < '1' || level[0] > '9' || level[1] != '\0')
                return usage_error("--compress-msa=LEVEL takes a deflate level 1..9");
            msa_level = level[0] - '0';
        } else if (is_help(a)) {
            features_usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "axial features build: unknown or incomplete option '%s'\n", a);
            return 2;
        }
        if (rc != 0) return rc;
    }
    if (name == NULL || out == NULL) return usage_error("build needs --name NAME and -o STORE.h5");
    if (n_msa == 0 && fasta == NULL && structure == NULL) return usage_error("build needs an MSA, a FASTA or a structure");
    /* Options that would be ignored are refused (a FASTA beside an MSA or structure, whose sequence
     * those give; --chain without a structure). */
    if (fasta != NULL && (n_msa > 0 || structure != NULL))
        return usage_error("--fasta is for a sequence alone: with an MSA or a structure, they give the sequence");
    if (chain_id != NULL && structure == NULL) return usage_error("--chain picks a chain of --mmcif/--pdb");
    for (int m = 0; m < n_msa; m++)
        if (output_is_input(out, msa_paths[m], msa_kinds[m][0] == 'a' ? "--a3m" : "--sto")) return 2;
    const char *structure_option = structure_kind != NULL && strcmp(structure_kind, "mmcif") == 0 ? "--mmcif" : "--pdb";
    if (output_is_input(out, fasta, "--fasta") || output_is_input(out, structure, structure_option)) return 2;

    int rc = 1;
    ax_msa *msas[16] = {NULL};
    ax_structure *st = NULL;
    ax_fasta *fa = NULL;
    ax_chain_features *features = NULL;
    ax_store_writer *writer = NULL;
    char sources[1024] = "";
    for (int m = 0; m < n_msa; m++) {
        const ax_status s = strcmp(msa_kinds[m], "a3m") == 0 ? ax_a3m_read(msa_paths[m], &msas[m])
                                                              : ax_stockholm_read(msa_paths[m], &msas[m]);
        if (s != AX_OK) {
            rc = fail("reading the MSA");
            goto done;
        }
        /* Checked here too, so the message names the files rather than the library's msas[m]. */
        if (msas[m]->num_cols != msas[0]->num_cols) {
            fprintf(stderr, "axial features: %s: %lld columns, but the first MSA (%s) has %lld\n", msa_paths[m],
                    (long long)msas[m]->num_cols, msa_paths[0], (long long)msas[0]->num_cols);
            rc = 1; /* the data's fault, as every other input error (2 is for usage) */
            goto done;
        }
        /* Appended with snprintf, which truncates at the buffer's end (strncat's bound had wrapped
         * around once the paths filled it, writing past the end). */
        const size_t used = strlen(sources);
        snprintf(sources + used, sizeof sources - used, "%s ", msa_paths[m]);
    }
    ax_chain_features_config features_cfg = AX_CHAIN_FEATURES_CONFIG_INIT;
    features_cfg.keep_duplicate_rows = keep_duplicate_rows;
    const ax_msa *const *msa_list = (const ax_msa *const *)msas;
    if (structure != NULL) {
        const ax_status s = strcmp(structure_kind, "mmcif") == 0 ? ax_mmcif_read(structure, &st) : ax_pdb_read(structure, &st);
        if (s != AX_OK) {
            rc = fail("reading the structure");
            goto done;
        }
        const ax_chain *chain = pick_chain(st, chain_id, structure);
        if (chain == NULL) goto done;
        snprintf(sources + strlen(sources), sizeof sources - strlen(sources), "%s:%s", structure, chain->id);
        if (ax_chain_features_from_msas(msa_list, n_msa, chain, st->resolution, &features_cfg, &features) != AX_OK) {
            rc = fail("making features");
            goto done;
        }
    } else if (n_msa > 0) {
        if (ax_chain_features_from_msas(msa_list, n_msa, NULL, 0.0, &features_cfg, &features) != AX_OK) {
            rc = fail("making features");
            goto done;
        }
    } else {
        if (ax_fasta_read(fasta, &fa) != AX_OK) {
            rc = fail("reading the FASTA");
            goto done;
        }
        snprintf(sources, sizeof sources, "%s", fasta);
        if (fa->num_records != 1) {
            fprintf(stderr, "axial features build: %s holds %lld records; --fasta takes a file with one sequence\n",
                    fasta, (long long)fa->num_records);
            rc = 1;
            goto done;
        }
        if (ax_chain_features_from_sequence(fa->sequences[0], &features) != AX_OK) {
            rc = fail("making features");
            goto done;
        }
    }
    if (ax_store_begin(out, !replace, &writer) != AX_OK) {
        rc = fail("opening the store");
        goto done;
    }
    if (ax_store_writer_set_msa_compression(writer, msa_level) != AX_OK) {
        rc = fail("--compress-msa");
        goto done;
    }
    if (ax_store_add_chain(writer, name, features, sources) != AX_OK) {
        rc = fail("adding the chain");
        goto done;
    }
    const ax_status committed = ax_store_commit(writer);
    writer = NULL;
    if (committed != AX_OK) {
        rc = fail("writing the store");
        goto done;
    }
    printf("%s: chain %s, %lld residue%s, %lld alignment%s%s\n", out, name, (long long)features->seq_length,
           features->seq_length == 1 ? "" : "s", (long long)features->num_alignments,
           features->num_alignments == 1 ? "" : "s", features->all_atom_positions ? ", structure" : "");
    rc = 0;
done:
    ax_store_abort(writer);
    ax_chain_features_destroy(features);
    for (int m = 0; m < n_msa; m++) ax_msa_destroy(msas[m]);
    ax_structure_destroy(st);
    ax_fasta_destroy(fa);
    return rc;
}

static int cmd_show(int argc, char **argv) {
    const char *path = NULL, *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) {
            features_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--chain") == 0 && i + 1 < argc && only == NULL) only = argv[++i];
        else if (path == NULL && argv[i][0] != '-') path = argv[i];
        else return usage_error("show takes STORE.h5 [--chain NAME]");
    }
    if (path == NULL) return usage_error("show needs STORE.h5");
    ax_store *s = NULL;
    if (ax_store_open(path, &s) != AX_OK) return fail("opening the store");
    printf("%s: Axial feature store, schema version %lld, %lld chain%s\n", path,
           (long long)ax_store_schema_version(s), (long long)ax_store_num_chains(s),
           ax_store_num_chains(s) == 1 ? "" : "s");
    printf("%-24s %8s %10s %10s  %s\n", "chain", "length", "msa depth", "resolution", "sources");
    int rc = 0, shown = 0;
    for (int64_t c = 0; c < ax_store_num_chains(s); c++) {
        const char *name = ax_store_chain_name(s, c);
        if (only != NULL && strcmp(only, name) != 0) continue;
        ax_store_chain_info info;
        if (ax_store_chain_info_get(s, name, &info) != AX_OK) {
            rc = fail("reading the chain");
            break;
        }
        char res[32] = "-";
        if (info.has_structure) snprintf(res, sizeof res, "%.2f A", info.resolution);
        printf("%-24s %8lld %10lld %10s  %s\n", name, (long long)info.seq_length, (long long)info.num_alignments, res,
               info.sources);
        shown++;
    }
    if (rc == 0 && only != NULL && shown == 0) {
        fprintf(stderr, "axial features: %s: no chain '%s'\n", path, only);
        rc = 1;
    }
    ax_store_close(s);
    return rc;
}

static int cmd_plot(int argc, char **argv) {
    const char *path = NULL, *chain = NULL, *kind = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int rc = 0;
        if (is_help(argv[i])) {
            features_usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--chain") == 0 && v) rc = take_once(&chain, argv[++i], "--chain");
        else if (strcmp(argv[i], "--kind") == 0 && v) rc = take_once(&kind, argv[++i], "--kind");
        else if (strcmp(argv[i], "-o") == 0 && v) rc = take_once(&out, argv[++i], "-o");
        else if (path == NULL && argv[i][0] != '-') path = argv[i];
        else return usage_error("plot takes STORE.h5 --chain NAME --kind msa|distance|contact -o OUT.png");
        if (rc != 0) return rc;
    }
    if (path == NULL || chain == NULL || kind == NULL || out == NULL)
        return usage_error("plot needs STORE.h5, --chain, --kind and -o");
    if (strcmp(kind, "msa") != 0 && strcmp(kind, "distance") != 0 && strcmp(kind, "contact") != 0)
        return usage_error("--kind must be msa, distance or contact");
    if (output_is_input(out, path, "store")) return 2;
    return axial_plot_chain(path, chain, kind, out) == 0 ? 0 : 1;
}

int axial_plot_chain(const char *store_path, const char *chain, const char *kind, const char *out) {
    ax_store *s = NULL;
    ax_chain_features *f = NULL;
    int rc = 1;
    if (ax_store_open(store_path, &s) != AX_OK) {
        fail("opening the store");
        goto done;
    }
    if (ax_store_read_chain(s, chain, &f) != AX_OK) {
        fail("reading the chain");
        goto done;
    }
    const int msa_kind = strcmp(kind, "msa") == 0;
    const int64_t rows = msa_kind ? f->num_alignments : f->seq_length, cols = f->seq_length;
    if (!msa_kind && f->all_atom_positions == NULL) {
        fprintf(stderr, "axial features: chain %s has no structure to draw a %s map from\n", chain, kind);
        goto done;
    }
    /* Deep MSAs are binned by the library; a chain too long for a figure is refused here, by its length
     * (the library's message would point to its bare-pixel writer). */
    if (cols > AX_CHAIN_MAP_MAX_ROWS) {
        fprintf(stderr, "axial features: chain %s: %lld residues; a figure shows at most %d (%s map)\n", chain,
                (long long)cols, AX_CHAIN_MAP_MAX_ROWS, kind);
        goto done;
    }
    const ax_chain_map map = msa_kind ? AX_CHAIN_MAP_MSA_IDENTITY
                             : strcmp(kind, "distance") == 0 ? AX_CHAIN_MAP_CA_DISTANCE
                                                             : AX_CHAIN_MAP_CONTACT;
    if (ax_png_write_chain_map(out, f, chain, map, 8.0f) != AX_OK) {
        fail("writing the PNG");
        goto done;
    }
    printf("%s: %s map of %s, %lld x %lld", out, kind, chain, (long long)rows, (long long)cols);
    if (msa_kind && rows > AX_CHAIN_MAP_MAX_ROWS)
        printf(" (%lld MSA rows per line, averaged: a figure has at most %d lines)",
               (long long)((rows + AX_CHAIN_MAP_MAX_ROWS - 1) / AX_CHAIN_MAP_MAX_ROWS), AX_CHAIN_MAP_MAX_ROWS);
    printf("\n");
    rc = 0;
done:
    ax_chain_features_destroy(f);
    ax_store_close(s);
    return rc;
}

int axial_cmd_features(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        features_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    /* Each subcommand takes --help where an option may stand ("axial features build --help", as the
     * top-level help promises for every command); as an option's value ("--name -h") it is that value. */
    if (strcmp(argv[1], "build") == 0) return cmd_build(argc - 1, argv + 1);
    if (strcmp(argv[1], "show") == 0) return cmd_show(argc - 1, argv + 1);
    if (strcmp(argv[1], "plot") == 0) return cmd_plot(argc - 1, argv + 1);
    fprintf(stderr, "axial features: unknown subcommand '%s'\n", argv[1]);
    features_usage(stderr);
    return 2;
}

/*
 * io.h — parsers for the files a structure-prediction pipeline reads: FASTA, A3M and Stockholm
 * multiple sequence alignments, and mmCIF / PDB structures.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 *
 * Common rules for every parser below:
 *
 *  - Two entry points per format. `ax_<format>_read(path, &out)` reads a file; gzip-compressed
 *    files are decompressed on the fly and plain files are read as they are (zlib decides from the
 *    first bytes, not the name). `ax_<format>_parse(buf, len, source_name, &out)` reads a memory
 *    buffer of plain text (not gzip); `source_name` is the name used in error messages (NULL gives
 *    "<memory>"); `buf` is not kept.
 *  - Streaming: files are read line by line, never whole. Working memory beyond the result is
 *    bounded by the longest record for FASTA and A3M, by the alignment as written for Stockholm
 *    (rows are converted at "//"), and by the atom table of the first model for mmCIF and PDB.
 *    Lines longer than 256 MiB are rejected as malformed.
 *  - Results are plain structs owned by the caller and freed with the matching destroy function
 *    (which accepts NULL). They are read-only views: do not free or reallocate their members.
 *  - Errors: AX_ERR_INVALID_ARGUMENT (NULL out or path, NULL buf with len > 0), AX_ERR_IO (the OS
 *    refused to open or read the file), AX_ERR_FORMAT (malformed content, including NUL bytes and
 *    corrupt gzip data), AX_ERR_OUT_OF_MEMORY. For AX_ERR_FORMAT, ax_last_error() reads
 *    "source:line:column: reason" (or "source:line: reason" when no column applies), with 1-based
 *    line and column. On failure *out is set to NULL and nothing is leaked.
 *  - No parser recurses, prints, exits or aborts, whatever the bytes. Each is fuzzed (fuzz/).
 *  - Thread safety: every function is reentrant; different threads may parse at the same time.
 *    A result may be read from several threads at once. Numbers are parsed independently of the
 *    C locale.
 */
#ifndef AXIAL_IO_H
#define AXIAL_IO_H

#include <stddef.h>
#include <stdint.h>

#include "axial/axial.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------
 * FASTA
 *
 * Every text parser here ends lines at LF, CRLF or a lone CR (classic Mac OS files; Python's
 * universal newlines, as AlphaFold reads files) and skips a UTF-8 byte-order mark at the start.
 *
 * Records start with a '>' header line (blanks before the '>' allowed: AlphaFold strips each line
 * before looking for it; a '>' was otherwise kept as a sequence character); the sequence is the
 * concatenation of the following lines with ASCII whitespace removed: spaces, tabs, vertical tab
 * and form feed, which AlphaFold's parse_fasta (Python's splitlines and strip) drops as well.
 * Blank lines are ignored. Sequence characters may be any printable ASCII (letters, '*', '-', ...);
 * they are kept as written. A file with no records is valid (zero records). Errors: sequence text
 * before the first header, other control bytes or non-ASCII bytes in a sequence line.
 * ---------------------------------------------------------------------------------------------- */

typedef struct ax_fasta {
    int64_t num_records;
    char **headers;    /* num_records NUL-terminated header lines without the '>' (trailing blanks removed) */
    char **sequences;  /* num_records NUL-terminated sequences */
    int64_t *lengths;  /* num_records sequence lengths (strlen of each sequence) */
} ax_fasta;

/* Reads every record of a file / memory buffer into a new ax_fasta (common rules above). */
AX_API ax_status ax_fasta_read(const char *path, ax_fasta **out);
AX_API ax_status ax_fasta_parse(const char *buf, size_t len, const char *source_name, ax_fasta **out);

/* Frees the records. Accepts NULL. */
AX_API void ax_fasta_destroy(ax_fasta *fasta);

/* Record-at-a-time reading for files too large to hold (sequence databases): memory is bounded
 * by the largest record. */
typedef struct ax_fasta_reader ax_fasta_reader;

typedef struct ax_fasta_record {
    const char *header;   /* NUL-terminated, without the '>' */
    const char *sequence; /* NUL-terminated */
    int64_t length;       /* strlen(sequence) */
} ax_fasta_record;

/* Opens a file (gzip or plain) or a memory buffer (kept, not copied: it must outlive the reader).
 * Errors as for ax_fasta_read; on failure *out is NULL. */
AX_API ax_status ax_fasta_reader_open(const char *path, ax_fasta_reader **out);
AX_API ax_status ax_fasta_reader_open_memory(const char *buf, size_t len, const char *source_name,
                                             ax_fasta_reader **out);

/* Reads the next record into *record and sets *has_record to 1, or sets it to 0 at the end of the
 * input. The record's strings stay valid until the next call or ax_fasta_reader_close. After an
 * error the reader can only be closed. */
AX_API ax_status ax_fasta_reader_next(ax_fasta_reader *reader, ax_fasta_record *record, int *has_record);

/* Closes the file and frees the reader. Accepts NULL. */
AX_API void ax_fasta_reader_close(ax_fasta_reader *reader);

/* ------------------------------------------------------------------------------------------------
 * Multiple sequence alignments (A3M, Stockholm)
 *
 * Both formats produce the AlphaFold representation: one row per sequence, the query first, one
 * column per query residue ("match column"), and for each (row, column) the number of residues
 * that row has between the previous match column and this one (the "deletion matrix"). Residues
 * after the last match column are not counted anywhere.
 * ---------------------------------------------------------------------------------------------- */

typedef struct ax_msa {
    int64_t num_rows;     /* sequences, the query (first record) first; >= 1 */
    int64_t num_cols;     /* match columns; >= 1 */
    char *residues;       /* (num_rows, num_cols) row-major: 'A'..'Z' or '-' (gap); not NUL-terminated */
    int32_t *deletions;   /* (num_rows, num_cols) row-major: residues deleted before each column
                             (saturates at INT32_MAX) */
    char **names;         /* num_rows NUL-terminated names (see each format) */
} ax_msa;

/* A3M (HHblits / ColabFold). Upper-case letters are match columns and '-' is a gap in a match
 * column; lower-case letters are insertions, counted into the deletion entry of the NEXT match
 * column; '.' and blanks are ignored. Lines starting with '#' (ColabFold's "#101\t1") are skipped,
 * and so are HH-suite annotation records (headers ss_pred, ss_conf, ss_dssp, sa_dssp anywhere;
 * aa_* after the query). names[i] is the header line without the '>' (which blanks may precede, as
 * for FASTA). The first record that is not an annotation is the query.
 * Errors (AX_ERR_FORMAT): no records; a query without match columns; a record whose match-column
 * count differs from the query's (the message names the record and its header line); a character
 * other than the above; sequence text before the first header; a NUL byte (ColabFold's multi-query
 * files separate the queries by NUL lines: the message says to give one query per file). */
AX_API ax_status ax_a3m_read(const char *path, ax_msa **out);
AX_API ax_status ax_a3m_parse(const char *buf, size_t len, const char *source_name, ax_msa **out);

/* Stockholm 1.0 (HMMER, Pfam). The "# STOCKHOLM 1.x" header is required; sequences may be split
 * over interleaved blocks separated by blank lines; '.' and '-' are gaps. Markup is checked as
 * HMMER's parser checks it (and every #=GF line needs its text), then skipped:
 * "#=GF tag text", "#=GS seqname tag [text]", "#=GR seqname tag annotation", "#=GC tag annotation",
 * where a #=GS/#=GR seqname must be a sequence of the alignment (its #=GS lines may come before its
 * first sequence line). Other '#' lines are comments. Only the first alignment (up to the first
 * "//") is read.
 * Conversion as in AlphaFold: columns where the query (first sequence) has a gap are dropped, and
 * residues of other rows in dropped columns are counted as deletions into the next kept column.
 * Lower-case residues (insert states) are upper-cased. names[i] is the sequence name.
 * One difference from AlphaFold's parse_stockholm, which takes only '-' as a gap: there a '.' in the
 * query row keeps its column (and AlphaFold's feature step then fails, having no id for '.'), and a
 * '.' of another row where the query has '-' counts as a deletion; here '.' is the gap HMMER writes
 * in insert columns, so such columns are dropped and such dots count as nothing. Files whose only
 * gap character is '-' give the same values either way.
 * Errors (AX_ERR_FORMAT): missing header; a sequence appearing twice in one block; a line that is
 * not "name aligned-sequence"; a character other than letters, '.' and '-'; rows of different
 * lengths (the message names the row); no sequences; a query that is all gaps; missing "//";
 * markup other than #=GF/#=GS/#=GR/#=GC ("#=GFX"); a markup line missing a field above; a
 * #=GS/#=GR line naming a sequence that has no sequence lines (reported at that line, when "//"
 * is reached). */
AX_API ax_status ax_stockholm_read(const char *path, ax_msa **out);
AX_API ax_status ax_stockholm_parse(const char *buf, size_t len, const char *source_name, ax_msa **out);

/* Frees an alignment. Accepts NULL. */
AX_API void ax_msa_destroy(ax_msa *msa);

/* ------------------------------------------------------------------------------------------------
 * Structures (mmCIF, PDB)
 *
 * A structure is a list of chains keyed by the author chain id (mmCIF auth_asym_id, PDB column 22),
 * in order of first appearance, each holding its residues (polymer residues, ligands and waters
 * alike) and their atoms. Only the first model is read. Common conventions, as in AlphaFold:
 *  - Alternate locations: for each atom name in a residue, the record with the highest occupancy is
 *    kept (ties: the first). Records of an alternative polymer residue with a different name at
 *    the same position (point heterogeneity) are dropped: the first residue name wins (AlphaFold,
 *    reading through Biopython, keeps the last one's atoms instead). Ligands and waters with
 *    different names are different residues, even at one number.
 *  - A residue is one residue however its records are ordered: records of a residue that come after
 *    other residues' records (same chain, number, insertion code and mmCIF label_asym_id/
 *    label_seq_id; for ligands and waters the name too) join it, in file order, as Biopython
 *    (AlphaFold's reader) joins them.
 *  - MSE (selenomethionine) becomes MET and its SE atom is renamed SD (its element stays "SE").
 *  - Modified amino acids keep their name (HYP stays HYP) and read as their parent's one-letter
 *    code (HYP -> 'P'). The parent is the one the file states (mmCIF _pdbx_struct_mod_residue
 *    parent_comp_id, then _chem_comp.mon_nstd_parent_comp_id; PDB MODRES), else the one a
 *    built-in table of common modified residues gives (docs/features.md lists it, with each
 *    parent as the wwPDB Chemical Component Dictionary states it). A parent that is not one of the
 *    20 standard amino acids counts as none; a record that names no single parent (a blank, or a
 *    list such as "ALA,GLY") is ignored.
 *  - One-letter codes: the 20 standard amino acids, modified residues as their parent, anything
 *    else (nucleotides, ligands, UNK, a modified residue without a known parent) 'X'.
 *  - Polymer type (`polymer_type`): what the file states (mmCIF _entity_poly.type of the chain's
 *    polymer entity), else what the polymer's residue names tell: protein when any is an amino acid
 *    (standard, modified with a known parent, or UNK), else DNA (DA DC DG DT DI DU DN) and/or RNA
 *    (A C G U I N; a modified nucleotide counts by the parent its file states), else other.
 *  - The polymer sequence of a chain (`sequence`) lists every residue of the polymer, resolved or
 *    not; `resolved` says which have atoms; each residue points back with `seq_index`. A second
 *    polymer under the same author chain (rare) is listed with seq_index -1, like a ligand.
 * ---------------------------------------------------------------------------------------------- */

#define AX_STRUCTURE_ID_CAP 8 /* ids and names are at most 7 characters (longer ones are an error) */

/* What a chain's polymer is. Features are made for protein chains only (features.h). */
typedef enum ax_polymer_type {
    AX_POLYMER_NONE = 0,           /* no polymer (ligands and waters only); also a zeroed ax_chain */
    AX_POLYMER_PROTEIN = 1,        /* mmCIF polypeptide(L), polypeptide(D), cyclic-pseudo-peptide */
    AX_POLYMER_DNA = 2,            /* polydeoxyribonucleotide */
    AX_POLYMER_RNA = 3,            /* polyribonucleotide */
    AX_POLYMER_DNA_RNA_HYBRID = 4, /* polydeoxyribonucleotide/polyribonucleotide hybrid */
    AX_POLYMER_OTHER = 5           /* polysaccharides, peptide nucleic acid, 'other', unknown residues */
} ax_polymer_type;

/* A short name of a polymer type for messages: "none", "protein", "DNA", "RNA", "DNA/RNA hybrid",
 * "other" ("unknown" for a value outside the enum). Static string. */
AX_API const char *ax_polymer_type_name(ax_polymer_type type);

typedef struct ax_atom {
    char name[AX_STRUCTURE_ID_CAP];  /* atom name, e.g. "CA" (NUL-terminated) */
    char element[4];                 /* element symbol as written ("C", "SE"), "" when the file has none */
    float x, y, z;                   /* Cartesian coordinates, angstrom */
    float occupancy;                 /* 1 when the file has none */
    float b_factor;                  /* 0 when the file has none */
} ax_atom;

typedef struct ax_residue {
    char name[AX_STRUCTURE_ID_CAP];  /* residue name (CCD id), "MET" for MSE, as written otherwise */
    char one_letter;                 /* one of ACDEFGHIKLMNPQRSTVWY for standard amino acids and
                                        modified ones with a known parent (HYP 'P'), else 'X' */
    char ins_code;                   /* insertion code, ' ' when none */
    int32_t number;                  /* author residue number (auth_seq_id / PDB resSeq) */
    int64_t seq_index;               /* index into the chain's sequence, or -1 outside the polymer
                                        (ligands, waters) */
    int64_t first_atom;              /* this residue's atoms are atoms[first_atom, first_atom + num_atoms) */
    int64_t num_atoms;               /* >= 1 */
} ax_residue;

typedef struct ax_chain {
    char id[AX_STRUCTURE_ID_CAP];        /* author chain id (may be " " in PDB files) */
    char label_id[AX_STRUCTURE_ID_CAP];  /* mmCIF label_asym_id of the chain's polymer (or of its first
                                            atom when it has no polymer); the id for PDB */
    char entity_id[AX_STRUCTURE_ID_CAP]; /* mmCIF entity of the polymer; "" when unknown or PDB */
    int64_t seq_len;                     /* polymer length; 0 for a chain of only ligands/waters */
    char *sequence;                      /* seq_len one-letter codes, NUL-terminated */
    uint8_t *resolved;                   /* seq_len flags: 1 when that residue has atoms */
    int64_t num_residues;
    ax_residue *residues;                /* in file order */
    int64_t num_atoms;
    ax_atom *atoms;
    ax_polymer_type polymer_type;        /* of the polymer; AX_POLYMER_NONE when seq_len is 0 */
} ax_chain;

typedef struct ax_structure {
    double resolution;   /* angstrom; 0 when the file states none */
    int64_t num_chains;  /* >= 1 */
    ax_chain *chains;
} ax_structure;

/* mmCIF (PDBx). Reads the first data_ block: the _atom_site table (first pdbx_PDB_model_num only),
 * _entity_poly_seq, _entity_poly (type), _struct_asym, _pdbx_struct_mod_residue and _chem_comp
 * (parents of modified residues), and the resolution: the last of _refine.ls_d_res_high,
 * _em_3d_reconstruction.resolution and _reflns.d_resolution_high whose first row holds a plain number
 * (AlphaFold 2's _get_header reads row [0] of each in that order, with float(), and keeps the last;
 * 4ZHL: reflns 2.05 over refine 2.06).
 * The tokenizer handles loop_, quoted strings and ';' text fields, in any order of categories.
 * Sequences: from _entity_poly_seq of the chain's polymer entity (entity from atom_site
 * label_entity_id, else _struct_asym); residues map to it by label_seq_id; microheterogeneity
 * (two monomers at one num) keeps the first monomer, and the residue of that name where the chain
 * has its atoms there, in whatever order _atom_site lists the variants (AlphaFold lists every
 * monomer in the sequence). Without _entity_poly_seq for an entity, residues with a numeric
 * label_seq_id (or group ATOM, when label_seq_id is absent or never a number) form the sequence in
 * file order; but where the file has _entity_poly_seq, an entity that neither it nor _entity_poly names is a
 * ligand or water (no sequence), as AlphaFold takes only entities with sequences as chains.
 * Only chains with atoms in the first model are listed.
 * Errors (AX_ERR_FORMAT): tokenizer errors (unterminated quote or text field, a tag without a value,
 * a loop whose value count is not a multiple of its tags), no data_ block, _atom_site without
 * coordinates / atom / residue / chain columns, bad numbers (a label_seq_id of -2147483648 too), no
 * atoms, a label_seq_id missing from _entity_poly_seq, two polymer residues at one label_seq_id
 * (different author numbers or insertion codes). */
AX_API ax_status ax_mmcif_read(const char *path, ax_structure **out);
AX_API ax_status ax_mmcif_parse(const char *buf, size_t len, const char *source_name, ax_structure **out);

/* PDB format. ATOM and HETATM records up to the first ENDMDL (or END, or a second MODEL);
 * resolution from "REMARK   2 RESOLUTION." ("NOT APPLICABLE" gives 0). The polymer of a chain is
 * its ATOM residues plus the non-water HETATM residues before its TER record (modified residues
 * such as MSE); HETATM residues after TER, and waters (HOH, DOD, H2O, and the MD names WAT, SOL,
 * TIP, TP3, T3P, T4P, T5P, SPC, as ATOM records too), are outside it. ATOM records after a chain's
 * TER resume it (a chain in segments) when they name a polymer unit (an amino acid, UNK, a
 * nucleotide, or a MODRES parent); a resumed chain takes only such units, so ions or lipids written
 * as ATOM records after a TER stay out. In a file without TER records, ligands inside a chain
 * count as polymer residues ('X'). MODRES records give
 * the parents of modified residues (columns 13-15 and 25-27; records with a blank name or parent
 * are ignored). The polymer type comes from the residue names (see above). SEQRES is not read:
 * the sequence lists the residues that have atoms, so every `resolved` flag is 1. Elements come
 * from columns 77-78 ("" when blank, never guessed from the name); a blank occupancy reads as 1.
 * Residue numbers are plain integers (hybrid-36 is not supported).
 * Errors (AX_ERR_FORMAT): ATOM/HETATM records that end before the coordinates, a blank atom or
 * residue name, fields that are not numbers, no atoms. */
AX_API ax_status ax_pdb_read(const char *path, ax_structure **out);
AX_API ax_status ax_pdb_parse(const char *buf, size_t len, const char *source_name, ax_structure **out);

/* Frees a structure. Accepts NULL. */
AX_API void ax_structure_destroy(ax_structure *structure);

#ifdef __cplusplus
}
#endif

#endif /* AXIAL_IO_H */

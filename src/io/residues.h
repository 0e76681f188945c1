/*
 * residues.h — residue-name knowledge shared by the structure parsers.
 *
 * Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
 */
#ifndef AXIAL_IO_RESIDUES_H
#define AXIAL_IO_RESIDUES_H

/* One-letter code of a residue name: the 20 standard amino acids, and MSE (selenomethionine,
 * read as MET) -> 'M'; anything else -> 'X', as AlphaFold's restype_3to1 does. */
char ax_residue_one_letter(const char *name);

/* 1 for water names (HOH, WAT, DOD, H2O), which are never part of a polymer. */
int ax_residue_is_water(const char *name);

#endif /* AXIAL_IO_RESIDUES_H */

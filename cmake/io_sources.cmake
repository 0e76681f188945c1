# Sources of the io area (parsers), relative to the project root, with the two core utilities they
# stand on (growable arrays, the string map), which the fuzzers build with them. Included by the
# top-level CMakeLists.txt and by fuzz/CMakeLists.txt; they need zlib (ZLIB::ZLIB) and libm.
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
set(AXIAL_IO_SOURCES
  src/core/grow.c
  src/core/strmap.c
  src/io/line_reader.c
  src/io/parse_number.c
  src/io/residues.c
  src/io/msa.c
  src/io/fasta.c
  src/io/a3m.c
  src/io/stockholm.c
  src/io/cif_tokenizer.c
  src/io/mmcif.c
  src/io/pdb.c
  src/io/structure_builder.c
  src/io/gguf.c
  src/io/output_file.c
)

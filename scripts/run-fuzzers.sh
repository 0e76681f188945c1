#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang into build-fuzz/ and runs each for a number of
# seconds on a corpus seeded from tests/data. Exits non-zero if any target finds a crash, a leak or
# a broken invariant; the reproducer is left in build-fuzz/artifacts/<target>/.
#
# usage: scripts/run-fuzzers.sh [SECONDS] [TARGET...]      (default 20 s; targets: fasta a3m
#        stockholm mmcif pdb gguf tokenizer tokenizer_gguf chat_template serve_request). Environment: CC_FUZZ
#        (default clang), AXIAL_FUZZ_BUILD (build dir).
#
# Copyright 2026 The Axial authors. SPDX-License-Identifier: Apache-2.0
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
if [ $# -gt 0 ]; then shift; fi
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(fasta a3m stockholm mmcif pdb gguf tokenizer tokenizer_gguf chat_template serve_request)
fi
build=${AXIAL_FUZZ_BUILD:-$root/build-fuzz}
data=$root/tests/data

cmake -S "$root/fuzz" -B "$build" -DCMAKE_C_COMPILER="${CC_FUZZ:-clang}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --parallel >/dev/null

# Seeds: the real files, trimmed where they are large so mutations stay fast (libFuzzer's maximum
# input length follows the largest seed).
seed() { # seed TARGET NAME < content
  mkdir -p "$build/seeds/$1"
  cat > "$build/seeds/$1/$2"
}
head -20 "$data/query.a3m" | seed fasta query_head.fa
printf '>a desc\nMKV LAA\r\n\n>b\nac-*\n>\n' | seed fasta small.fa
seed a3m query.a3m < "$data/query.a3m"
head -20 "$data/query.a3m" | seed a3m query_head.a3m
printf '#101\t1\n>q\nACDE\n>ss_pred\nCCHH\n>s\naAC-Ed\n' | seed a3m small.a3m
seed stockholm globins4.sto < "$data/globins4.sto"
seed stockholm fn3.sto < "$data/fn3.sto"
# 1CBS without most of its atom rows: every category the parser reads, at a tenth of the size.
zcat "$data/1cbs.cif.gz" | awk '/^(ATOM|HETATM) / { n++; if (n > 60 && n < 1190) next } { print }' |
  seed mmcif 1cbs_trimmed.cif
# A small file with every convention the parser implements (alt locs, MSE, microheterogeneity, a
# text field, quotes, a second model and a second block), so the mutator starts close to them.
seed mmcif conventions.cif <<'CIF'
data_T
_refine.ls_d_res_high ?
_em_3d_reconstruction.resolution 3.2
_struct.title
;text
field
;
loop_
_entity_poly_seq.entity_id
_entity_poly_seq.num
_entity_poly_seq.mon_id
1 1 MET 1 2 MSE 1 3 ALA 1 3 GLY 1 4 LYS
loop_
_struct_asym.id
_struct_asym.entity_id
A 1 B 2
loop_
_atom_site.group_PDB
_atom_site.type_symbol
_atom_site.label_atom_id
_atom_site.label_comp_id
_atom_site.label_asym_id
_atom_site.label_seq_id
_atom_site.pdbx_PDB_ins_code
_atom_site.Cartn_x
_atom_site.Cartn_y
_atom_site.Cartn_z
_atom_site.occupancy
_atom_site.B_iso_or_equiv
_atom_site.auth_seq_id
_atom_site.auth_asym_id
_atom_site.pdbx_PDB_model_num
ATOM N N MET A 1 ? 1.0 2.0 3.0 1.00 10.0 1 X 1
HETATM SE SE MSE A 2 ? 4.0 5.0 6.0 1.00 12.0 2 X 1
ATOM C CA ALA A 3 ? 7.0 8.0 9.0 0.40 14.0 3 X 1
ATOM C CA ALA A 3 ? 7.1 8.1 9.1 0.60 15.0 3 X 1
ATOM C CA GLY A 3 ? 7.4 8.4 9.4 0.90 18.0 3 X 1
HETATM O O HOH B . A 13.0 14.0 15.0 1.00 21.0 201 X 1
ATOM N N MET A 1 ? 9 9 9 1 1 1 X 2
data_SECOND
_atom_site.group_PDB ATOM
CIF
{ grep -m1 -E '^REMARK   2 RESOLUTION' "$data/1tii.pdb"; grep -E '^(ATOM|HETATM|TER)' "$data/1tii.pdb" | sed -n '730,760p;5470,5500p'; echo END; } |
  seed pdb 1tii_slice.pdb
printf 'MODEL        1\nATOM      1  CA AMSE A   1A      1.000   2.000   3.000  0.50 10.00          SE\nTER\nENDMDL\n' |
  seed pdb small.pdb
# Parents of modified residues (MODRES) and nucleotides, for the polymer types.
grep -E '^(MODRES|SEQRES)' "$data/2n0n_M1.pdb" | seed pdb modres.pdb
grep -E '^(ATOM|HETATM|TER)' "$data/2n0n_M1.pdb" | sed -n '15,40p;150,184p' >> "$build/seeds/pdb/modres.pdb"
printf 'ATOM      1  P    DA B   1       4.000   4.000   4.000  1.00  0.00           P\nATOM      2  P     U C   1       6.000   6.000   6.000  1.00  0.00           P\n' |
  seed pdb nucleotides.pdb
# _entity_poly types and the two sources of parents an mmCIF file may carry.
seed mmcif modified.cif <<'CIF'
data_M
loop_
_entity_poly.entity_id
_entity_poly.type
1 'polypeptide(L)'
2 polydeoxyribonucleotide
loop_
_chem_comp.id
_chem_comp.mon_nstd_parent_comp_id
AIB ALA
FOO ALA,GLY
loop_
_entity_poly_seq.entity_id
_entity_poly_seq.num
_entity_poly_seq.mon_id
1 1 AIB 1 2 HYP 1 3 ARG 2 1 DA
loop_
_atom_site.label_atom_id
_atom_site.label_comp_id
_atom_site.label_asym_id
_atom_site.label_entity_id
_atom_site.label_seq_id
_atom_site.Cartn_x
_atom_site.Cartn_y
_atom_site.Cartn_z
_atom_site.auth_asym_id
CA AIB A 1 1 1 1 1 A
CA HYP A 1 2 2 2 2 A
CD ARG A 1 3 3 3 3 A
P DA B 2 1 4 4 4 B
loop_
_pdbx_struct_mod_residue.label_comp_id
_pdbx_struct_mod_residue.parent_comp_id
HYP PRO
CIF

# Tokenizer seeds: the first byte holds the flags (add special, parse special), the rest is text.
printf '\003<|im_start|>user\nHello 123,  world!\r\n\t\xce\xb1\xce\xb2 \xf0\x9f\x98\x80\xff' | seed tokenizer mixed.txt
printf '\000  def f(x):\n    return x**2  # 12345\n' | seed tokenizer code.txt

# Chat template seeds: SmolLM2's own, and the same loop with whitespace control, dot access,
# concatenated literals and text (all accepted); the dictionary holds the tags the reader compares.
printf "%s" "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"\
"{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}"\
"{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"\
"{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}" | seed chat_template smol.jinja
printf "%s" "{%- for message in messages -%}{{- '<|im_start|>' + message.role + \"\\n\" + message.content }}"\
"<|im_end|>{{ '\\n' -}}{%- endfor -%}{# c #}" | seed chat_template plain.jinja
cat > "$build/chat_template.dict" <<'DICT'
"{%"
"%}"
"{{"
"}}"
"{%-"
"-%}"
"for message in messages"
"endfor"
"if loop.first and messages[0]['role'] != 'system'"
"endif"
"if add_generation_prompt"
"message['role']"
"message['content']"
"'<|im_start|>'"
"'<|im_end|>\\n'"
DICT

# `axial serve` request seeds: the first byte picks the endpoint (0 completions, 1 chat).
printf '\000{"model":"m","prompt":"Once upon","max_tokens":8,"temperature":0,"stop":["\\n","x"],"stream":true,'\
'"stream_options":{"include_usage":true},"seed":-3,"top_p":0.9,"top_k":40,"min_p":0.05}' | seed serve_request completion.json
printf '\000{"model":"m","prompt":[[1,2,3]],"n":1,"echo":false,"logprobs":null,"presence_penalty":-2,'\
'"frequency_penalty":2,"repetition_penalty":1.1,"best_of":1,"suffix":null}' | seed serve_request tokens.json
printf '\001{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":'\
'[{"type":"text","text":"Hi \\u00e9\\ud83d\\ude00"}]},{"role":"developer","content":null}],'\
'"max_completion_tokens":4,"logprobs":false,"response_format":{"type":"text"},"stop":"\\n\\n"}' | seed serve_request chat.json

# GGUF seeds: small files with every value type, nested arrays and a few tensor types, written by the
# `gguf` package when the .venv has it; a bare header otherwise.
mkdir -p "$build/seeds/gguf" "$build/seeds/tokenizer_gguf"
printf 'GGUF\003\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000' |
  seed gguf empty_v3.gguf
if [ -x "$root/.venv/bin/python" ] && "$root/.venv/bin/python" -c "import gguf, numpy" 2>/dev/null; then
  "$root/.venv/bin/python" - "$build/seeds/gguf" <<'PY'
import sys
import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT, GGUFValueType as VT
out = sys.argv[1]
for name, alignment in [("types", 0), ("aligned64", 64)]:
    w = gguf.GGUFWriter(f"{out}/{name}.gguf", arch="llama")
    if alignment:
        w.add_custom_alignment(alignment)
    for vt, v in [(VT.UINT8, 1), (VT.INT8, -1), (VT.UINT16, 2), (VT.INT16, -2), (VT.UINT32, 3), (VT.INT32, -3),
                  (VT.FLOAT32, 0.5), (VT.BOOL, True), (VT.STRING, "s"), (VT.UINT64, 4), (VT.INT64, -4),
                  (VT.FLOAT64, 0.25)]:
        w.add_key_value("k." + vt.name.lower(), v, vt)
    w.add_key_value("tokenizer.ggml.tokens", ["a", "b", "ab"], VT.ARRAY, sub_type=VT.STRING)
    w.add_key_value("a.i32", [1, -2, 3], VT.ARRAY, sub_type=VT.INT32)
    w.add_key_value("a.nested", [[1, 2], [3]], VT.ARRAY, sub_type=VT.ARRAY)
    for qt in (QT.F32, QT.Q4_1, QT.Q8_0, QT.Q4_K):
        block, nbytes = gguf.GGML_QUANT_SIZES[qt]
        w.add_tensor(f"t.{qt.name.lower()}", np.arange(nbytes, dtype=np.uint8).reshape(1, nbytes), raw_dtype=qt)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
# fuzz_tokenizer_gguf: a small byte-level BPE vocabulary (GPT-2's byte characters, ChatML control
# tokens, two merges) with SmolLM2's chat template, as a GGUF file with no tensors.
import os
chars = [c for c in range(33, 127)] + [c for c in range(161, 173)] + [c for c in range(174, 256)]
table, extra = {}, 256
for b in range(256):
    if b in chars:
        table[b] = chr(b)
    else:
        table[b] = chr(extra)
        extra += 1
tokens = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] + [table[b] for b in range(256)] + ["ab", "abc"]
w = gguf.GGUFWriter(os.path.join(os.path.dirname(out), "tokenizer_gguf", "tiny_bpe.gguf"), arch="llama")
w.add_tokenizer_model("gpt2")
w.add_tokenizer_pre("smollm")
w.add_token_list(tokens)
w.add_token_types([3, 3, 3] + [1] * (len(tokens) - 3))
w.add_token_merges(["a b", "ab c"])
w.add_bos_token_id(1)
w.add_eos_token_id(2)
w.add_chat_template("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                    "{{ '<|im_start|>system\\nBe brief.<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + "
                    "message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
                    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
w.write_header_to_file()
w.write_kv_data_to_file()
w.close()
PY
fi
cat > "$build/gguf.dict" <<'DICT'
"GGUF"
"general.alignment"
"\x02\x00\x00\x00"
"\x03\x00\x00\x00"
"\x08\x00\x00\x00"
"\x09\x00\x00\x00"
"\x20\x00\x00\x00"
"\xff\xff\xff\xff\xff\xff\xff\x7f"
DICT

# A dictionary of format keywords helps the mutator reach the structure code.
cat > "$build/mmcif.dict" <<'DICT'
"data_"
"loop_"
"save_"
"_atom_site."
"_entity_poly_seq."
"_struct_asym."
"_refine.ls_d_res_high"
"_em_3d_reconstruction.resolution"
"_reflns.d_resolution_high"
"Cartn_x"
"label_seq_id"
"auth_asym_id"
"pdbx_PDB_model_num"
"\x0a;"
"MSE"
"_entity_poly.type"
"_chem_comp.mon_nstd_parent_comp_id"
"_pdbx_struct_mod_residue.parent_comp_id"
"polydeoxyribonucleotide"
DICT

cat > "$build/serve_request.dict" <<'DICT'
"\"model\""
"\"prompt\""
"\"messages\""
"\"role\""
"\"content\""
"\"max_tokens\""
"\"max_completion_tokens\""
"\"temperature\""
"\"stop\""
"\"stream\""
"\"stream_options\""
"\"include_usage\""
"\"seed\""
"\"logprobs\""
"\"tools\""
"\"type\""
"\"text\""
"null"
"true"
"1e400"
"-0"
"\\u0000"
"\\ud800"
DICT

failed=0
for t in "${targets[@]}"; do
  bin=$build/fuzz_$t
  if [ ! -x "$bin" ]; then echo "no such fuzz target: $t" >&2; exit 2; fi
  corpus=$build/corpus/$t
  artifacts=$build/artifacts/$t/
  mkdir -p "$corpus" "$artifacts"
  cp -n "$build/seeds/$t"/* "$corpus"/ 2>/dev/null || true
  dict=()
  if [ -f "$build/$t.dict" ]; then dict=(-dict="$build/$t.dict"); fi
  log=$build/fuzz_$t.log
  # Reproducers left by earlier runs go first: a finding stays a failure until it is fixed (libFuzzer
  # writes them beside the corpus, so a fresh run would otherwise rarely meet them again). A fixed one
  # is moved into the corpus, where it keeps guarding the fix.
  found=("$artifacts"crash-* "$artifacts"leak-* "$artifacts"timeout-* "$artifacts"oom-*)
  old=()
  for f in "${found[@]}"; do [ -f "$f" ] && old+=("$f"); done
  if [ ${#old[@]} -gt 0 ]; then
    if "$bin" -timeout=10 -rss_limit_mb=2048 "${old[@]}" >"$log" 2>&1; then
      for f in "${old[@]}"; do mv "$f" "$corpus/fixed-$(basename "$f")"; done
      echo "fuzz_$t: ${#old[@]} earlier reproducer(s) pass now, kept in the corpus"
    else
      failed=1
      echo "fuzz_$t: FAILED on an earlier reproducer in $artifacts, see $log" >&2
      grep -E 'ERROR|SUMMARY' "$log" | head -5 >&2 || true
      continue
    fi
  fi
  if "$bin" -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$artifacts" "${dict[@]}" "$corpus" >"$log" 2>&1; then
    runs=$(grep -m1 -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "fuzz_$t: ok, $runs runs in ${seconds}s, $cov, corpus $(ls "$corpus" | wc -l) inputs"
  else
    failed=1
    echo "fuzz_$t: FAILED, see $log and $artifacts" >&2
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 >&2 || true
  fi
done
exit $failed

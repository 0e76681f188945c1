#!/usr/bin/env bash
# The `axial features` command line (and `axial version`/`info`'s arguments): good input works; bad
# input gives a non-zero exit, one line on stderr naming the problem, and no output file.
# Usage: test_cli.sh AXIAL_BINARY DATA_DIR
set -u
axial=$1
data=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
check() { # description, condition (already evaluated: 0 = true)
    if [ "$2" -eq 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1"; fi
}

# Good input: two chains into one store, shown and plotted.
"$axial" features build --a3m "$data/query.a3m" --name FAM69B -o "$work/s.h5" > "$work/out1" 2>&1
check "build from A3M succeeds" $?
"$axial" features build --mmcif "$data/1cbs.cif.gz" --chain A --name 1cbs_A -o "$work/s.h5" > "$work/out2" 2>&1
check "build from mmCIF appends" $?
"$axial" features show "$work/s.h5" > "$work/show" 2>&1
check "show succeeds" $?
grep -Eq '^FAM69B +431 +59 ' "$work/show"; check "show lists FAM69B: 431 residues, 59 sequences" $?
grep -Eq '^1cbs_A +137 +1 +1.80 A ' "$work/show"; check "show lists 1cbs_A: 137 residues, 1.80 A" $?
"$axial" features plot "$work/s.h5" --chain 1cbs_A --kind contact -o "$work/c.png" > /dev/null 2>&1
check "plot contact map succeeds" $?
[ "$(head -c 8 "$work/c.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]; check "the plot is a PNG" $?
# A labelled figure, not one pixel per residue: IHDR's width (bytes 16..19) is well above 137.
width=$(od -An -tu1 -j16 -N4 "$work/c.png" | awk '{print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4}')
[ "${width:-0}" -ge 785 ]; check "the plot is scaled up with room for axes (width $width)" $?

# show prints the file's schema version: 2 for a new store, 1 for the schema 1 fixture.
grep -q '^'"$work/s.h5"': Axial feature store, schema version 2, 2 chains$' "$work/show"; check "show: new store is schema version 2" $?
"$axial" features show "$data/store_v1.h5" > "$work/show_v1" 2>&1
check "show of the schema 1 fixture succeeds" $?
grep -q 'store_v1.h5: Axial feature store, schema version 1, 2 chains$' "$work/show_v1"; check "show: the fixture is schema version 1" $?

# --compress-msa: the same chain, deflated MSA arrays (h5dump shows the filter when installed), a
# smaller file, the same `show` line; an explicit level is recorded as given.
"$axial" features build --a3m "$data/query.a3m" --name FAM69B -o "$work/z.h5" --compress-msa > /dev/null 2>&1
check "build --compress-msa succeeds" $?
"$axial" features build --a3m "$data/query.a3m" --name FAM69B -o "$work/plain.h5" > /dev/null 2>&1
check "build without --compress-msa succeeds" $?
[ "$(stat -c %s "$work/z.h5")" -lt "$(stat -c %s "$work/plain.h5")" ]; check "--compress-msa makes a smaller store" $?
"$axial" features show "$work/z.h5" > "$work/show_z" 2>&1
grep -Eq '^FAM69B +431 +59 ' "$work/show_z"; check "show lists the compressed chain: 431 residues, 59 sequences" $?
"$axial" features build --a3m "$data/query.a3m" --name FAM69B -o "$work/z9.h5" --compress-msa=9 > /dev/null 2>&1
check "build --compress-msa=9 succeeds" $?
if command -v h5dump > /dev/null 2>&1; then
    h5dump -p -H -d /chains/FAM69B/msa/tokens "$work/z.h5" | grep -q 'COMPRESSION DEFLATE { LEVEL 1 }'
    check "--compress-msa: tokens deflated at level 1" $?
    h5dump -p -H -d /chains/FAM69B/msa/deletions "$work/z9.h5" | grep -q 'COMPRESSION DEFLATE { LEVEL 9 }'
    check "--compress-msa=9: deletions deflated at level 9" $?
    h5dump -p -H -d /chains/FAM69B/msa/tokens "$work/plain.h5" | grep -q 'DEFLATE'
    [ $? -ne 0 ]; check "without --compress-msa: tokens not deflated" $?
elif [ "${AXIAL_TEST_NO_PARTIAL_SKIPS:-0}" = 1 ]; then
    check "h5dump is installed (scripts/test.sh installs it; AXIAL_ALLOW_SKIPS=1 skips)" 1
else
    echo "  (h5dump is not installed: the --compress-msa layout checks skipped)"
fi

# Three MSAs whose paths (about 600 bytes each) overflow the store's 1 KiB provenance string: it is
# cut, not written past (the third path had been appended past the end of a stack buffer).
long="$data$(printf '/.%.0s' $(seq 300))/query.a3m"
"$axial" features build --a3m "$long" --a3m "$long" --a3m "$long" --name FAM69B -o "$work/long.h5" \
    > "$work/out_long" 2>&1
check "build from three MSAs with long paths succeeds" $?
"$axial" features show "$work/long.h5" > "$work/show_long" 2>&1
grep -Eq '^FAM69B +431 +59 ' "$work/show_long"; check "show lists the chain built from long paths" $?

# Bad input: each fails with one line on stderr and leaves no file.
expect_failure() { # description, expected text, output file that must not exist, command...
    local what=$1 text=$2 out=$3
    shift 3
    "$@" > "$work/stdout" 2> "$work/stderr"
    local rc=$?
    [ $rc -ne 0 ]; check "$what: non-zero exit" $?
    [ "$(wc -l < "$work/stderr")" -eq 1 ]; check "$what: one line on stderr" $?
    grep -q -- "$text" "$work/stderr"; check "$what: message mentions '$text'" $?
    [ ! -e "$out" ]; check "$what: no output file" $?
    [ -z "$(ls -A "$work" | grep '\.tmp\.')" ]; check "$what: no temporary left" $?
}
expect_failure "missing input" "no-such.a3m" "$work/x.h5" "$axial" features build --a3m "$work/no-such.a3m" --name x -o "$work/x.h5"
printf '>q\nACDE\n>r\nAC\n' > "$work/ragged.a3m"
expect_failure "ragged A3M" "ragged.a3m:3:1: sequence .r. has 2 match columns" "$work/x.h5" "$axial" features build --a3m "$work/ragged.a3m" --name x -o "$work/x.h5"
head -c 3000 /dev/urandom > "$work/garbage.cif"
expect_failure "binary garbage as mmCIF" "garbage.cif" "$work/x.h5" "$axial" features build --mmcif "$work/garbage.cif" --name x -o "$work/x.h5"
expect_failure "bad chain name" "name" "$work/x.h5" "$axial" features build --a3m "$data/query.a3m" --name "a/b" -o "$work/x.h5"
expect_failure "missing directory" "no/such/dir" "$work/no/such/dir/x.h5" "$axial" features build --a3m "$data/query.a3m" --name x -o "$work/no/such/dir/x.h5"
expect_failure "plot without structure" "no structure" "$work/d.png" "$axial" features plot "$work/s.h5" --chain FAM69B --kind distance -o "$work/d.png"
# A protein-DNA complex (1LCD: its DNA chains B and C come before protein chain A, 51 residues):
# without --chain the first protein chain is taken; naming a DNA chain is refused.
"$axial" features build --mmcif "$data/1lcd.cif.gz" --name lcd -o "$work/dna.h5" > "$work/out_dna" 2>&1
check "build from 1LCD without --chain succeeds" $?
grep -q ': chain lcd, 51 residues, 1 alignment, structure$' "$work/out_dna"; check "1LCD: protein chain A is taken" $?
"$axial" features show "$work/dna.h5" | grep -q '1lcd.cif.gz:A$'; check "1LCD: the sources name chain A" $?
expect_failure "a DNA chain" "chain B: polymer type DNA, not protein" "$work/x.h5" "$axial" features build --mmcif "$data/1lcd.cif.gz" --chain B --name x -o "$work/x.h5"
expect_failure "show of a non-store" "not an HDF5 file" "$work/none" "$axial" features show "$work/ragged.a3m"
for level in 0 10 x ""; do
    expect_failure "--compress-msa=$level" "compress-msa=LEVEL" "$work/x.h5" "$axial" features build --a3m "$data/query.a3m" --name x -o "$work/x.h5" "--compress-msa=$level"
done
# Several MSAs: rows in the order given, duplicates dropped as AlphaFold does (within one MSA and
# across MSAs, comparing letters, insertions ignored); --no-dedup keeps every row. By hand: one.a3m
# is q, a (q's letters plus an insertion), b; two.a3m is q, c (b's letters), d (B where q has K).
# Distinct: q, b, d.
printf '>q\nMKVL\n>a\nMKgVL\n>b\nM-VL\n' > "$work/one.a3m"
printf '>q\nMKVL\n>c\nM-VL\n>d\nMBVL\n' > "$work/two.a3m"
printf '>q\nMKV\n' > "$work/three.a3m"
"$axial" features build --a3m "$work/one.a3m" --a3m "$work/two.a3m" --name m -o "$work/m.h5" > "$work/out_m" 2>&1
check "build from two MSAs succeeds" $?
grep -q ': chain m, 4 residues, 3 alignments$' "$work/out_m"; check "two MSAs: 3 distinct rows of 6" $?
"$axial" features build --a3m "$work/one.a3m" --a3m "$work/two.a3m" --name m -o "$work/m.h5" --replace --no-dedup > "$work/out_m" 2>&1
check "build --no-dedup succeeds" $?
grep -q ': chain m, 4 residues, 6 alignments$' "$work/out_m"; check "--no-dedup keeps all 6 rows" $?
"$axial" features build --a3m "$work/one.a3m" --name m -o "$work/m.h5" --replace > "$work/out_m" 2>&1
grep -q ': chain m, 4 residues, 2 alignments$' "$work/out_m"; check "one MSA: its duplicate row is dropped too" $?
expect_failure "MSAs of different lengths" "three.a3m: 3 columns, but the first MSA" "$work/x.h5" "$axial" features build --a3m "$work/one.a3m" --a3m "$work/three.a3m" --name x -o "$work/x.h5"

# The version: `axial --version` and -V (the usage line's form) as `axial version`, which is the
# project's version in CMakeLists.txt; --help for the commands without options; extra arguments refused.
root=$(cd "$data/../.." && pwd)
want="axial $(sed -n 's/^project(axial VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")"
for form in --version -V version; do
    got=$("$axial" $form 2> /dev/null)
    [ $? -eq 0 ] && [ "$got" = "$want" ]; check "axial $form prints '$want' (got '$got')" $?
done
expect_failure "a FASTA beside an MSA (would be ignored)" "--fasta is for a sequence alone" "$work/x.h5" "$axial" features build --fasta "$work/ragged.a3m" --a3m "$data/query.a3m" --name x -o "$work/x.h5"
expect_failure "--chain without a structure" "--chain picks a chain" "$work/x.h5" "$axial" features build --a3m "$data/query.a3m" --chain A --name x -o "$work/x.h5"
for sub in build show plot; do
    "$axial" features $sub --help > "$work/help_$sub" 2>&1
    [ $? -eq 0 ] && grep -q "axial features $sub" "$work/help_$sub"; check "axial features $sub --help prints the usage" $?
done
for opt in "--threads abc" "--threads -3" "--repeat 0" "--repeat x"; do
    "$axial" attention $opt > /dev/null 2> "$work/attn_err"
    [ $? -eq 2 ] && grep -q "expected an integer" "$work/attn_err"; check "axial attention $opt is refused" $?
done
# --shape: digits only, in range, tensors below 1 TiB (" 1,+2,..." had been taken, and a shape whose
# product overflowed int64 was undefined behaviour reported as "out of memory").
for shape in " 1,2,3,4,5" "1,+2,3,4,5" "1,2,3,4" "1,2,3,4,5,6" "1,2,3,4,5x" "0,2,3,4,5" "1048576,1048576,1048576,1,1" \
             "1,1,1048576,1048576,1"; do
    "$axial" attention --shape "$shape" > /dev/null 2> "$work/attn_err"
    [ $? -eq 2 ] && grep -q "expected five integers" "$work/attn_err"; check "axial attention --shape '$shape' is refused" $?
done
for cmd in info version; do
    "$axial" $cmd --help > "$work/help_$cmd" 2>&1
    [ $? -eq 0 ] && grep -q "^usage: axial $cmd" "$work/help_$cmd"; check "axial $cmd --help prints its usage" $?
    "$axial" $cmd extra > /dev/null 2> "$work/extra_$cmd"
    [ $? -eq 2 ] && grep -q "unexpected argument 'extra'" "$work/extra_$cmd"; check "axial $cmd refuses an argument" $?
done

# A write error on stdout is an error with a message, whatever the command (gguf show had exited 1
# silently, the others 0). The GGUF file is the smallest valid one: "GGUF", version 3, no tensors,
# no metadata (little-endian counts).
if [ -w /dev/full ]; then
    printf 'GGUF\003\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000\000' > "$work/min.gguf"
    "$axial" gguf show "$work/min.gguf" > "$work/gguf_out" 2>&1
    [ $? -eq 0 ] && grep -q '^tensors: 0$' "$work/gguf_out"; check "gguf show of the minimal GGUF file succeeds" $?
    for cmd in "gguf show $work/min.gguf" "gguf show $work/min.gguf --json" "version" "info" "--help" \
               "features show $work/s.h5" "features --help"; do
        # shellcheck disable=SC2086
        "$axial" $cmd > /dev/full 2> "$work/full_err"
        rc=$?
        [ $rc -eq 1 ] && [ "$(wc -l < "$work/full_err")" -eq 1 ] &&
            grep -q '^axial: writing to standard output: No space left on device$' "$work/full_err"
        check "axial $cmd > /dev/full: exit 1 (got $rc) and one line naming the write error" $?
    done
fi

# gguf show prints a key whose name holds a terminal escape, a newline and a NUL quoted and escaped
# (it had printed the name raw: the escape reached the terminal, the newline forged a line, the text
# after the NUL was hidden). Version 3, no tensors, one UINT32 key of 15 bytes "ev<ESC>[2J<LF>fake<NUL>hid".
printf 'GGUF\003\000\000\000\000\000\000\000\000\000\000\000\001\000\000\000\000\000\000\000' > "$work/esc.gguf"
printf '\017\000\000\000\000\000\000\000ev\033[2J\nfake\000hid\004\000\000\000\007\000\000\000' >> "$work/esc.gguf"
"$axial" gguf show "$work/esc.gguf" > "$work/esc_out" 2>&1
rc=$?
[ $rc -eq 0 ] && ! grep -q $'\033' "$work/esc_out" &&
    grep -qF '  "ev\x1b[2J\nfake\x00hid": uint32 = 7' "$work/esc_out"
check "gguf show escapes a key's control bytes and NUL (exit $rc)" $?

# generate: --system belongs to a --chat conversation; alone it had been ignored. Refused before the
# model is read (the --model path does not exist).
expect_failure "generate --system without --chat" "--system needs --chat" "$work/none" \
    "$axial" generate --model "$work/no-such.gguf" --prompt hi --system "be brief"
"$axial" generate --model "$work/no-such.gguf" --prompt hi --system "be brief" > /dev/null 2>&1
[ $? -eq 2 ]; check "generate --system without --chat: exit 2 (a usage error)" $?

# demo: --data is checked before --out is created; the run passes at the default tolerance and fails
# (exit 1, a message on stderr) when the optimised and the naive attention disagree beyond it. They sum
# in different orders in fp32, so they differ by about 1e-7 of max |out|: far above 1e-12, far below
# the default 1e-4.
"$axial" demo --data "$work/no-such-dir" --out "$work/demo_bad" > /dev/null 2> "$work/demo_err"
rc=$?
[ $rc -eq 1 ] && grep -q -- "--data $work/no-such-dir: .*query.a3m: No such file" "$work/demo_err"
check "demo with a missing --data: exit 1 (got $rc) naming --data and the file" $?
[ ! -e "$work/demo_bad" ]; check "demo with a missing --data: --out not created" $?
"$axial" demo --tolerance x > /dev/null 2> "$work/demo_err"
[ $? -eq 2 ] && grep -q -- "--tolerance 'x'" "$work/demo_err"; check "demo --tolerance x is refused" $?
"$axial" demo --data "$data" --out "$work/demo_ok" --device cpu > "$work/demo_out" 2> "$work/demo_err"
rc=$?
[ $rc -eq 0 ] && grep -q 'agreement .*tolerance' "$work/demo_out" && [ -s "$work/demo_ok/msa_coverage.png" ]
check "demo on the CPU succeeds at the default tolerance (exit $rc)" $?
"$axial" demo --data "$data" --out "$work/demo_tight" --device cpu --tolerance 1e-12 > /dev/null 2> "$work/demo_err"
rc=$?
[ $rc -eq 1 ] && grep -q 'the optimised and the naive attention disagree' "$work/demo_err"
check "demo fails (exit 1, got $rc) when the outputs differ beyond --tolerance" $?
[ ! -e "$work/demo_tight/msa_coverage.png" ]; check "demo draws no figures after a disagreement" $?

# An MSA deeper than cairo's 32767 pixels (a figure shows at most 30000 lines): plotted with each line
# the mean of 2 rows, saying so, in an image about 40001 / 2 lines tall (it had been refused with a
# message naming a C function). Rows spell their number in base 3 with -, C and A: no two are the same.
awk 'BEGIN { print ">q"; print "AAAAAAAAAAAA";
             for (r = 1; r <= 40000; r++) { s = ""; v = r;
                 for (c = 0; c < 12; c++) { s = s substr("-CA", v % 3 + 1, 1); v = int(v / 3) }
                 print ">r" r; print s } }' > "$work/deep.a3m"
"$axial" features build --a3m "$work/deep.a3m" --name deep -o "$work/deep.h5" > "$work/deep_out" 2>&1
grep -q ': chain deep, 12 residues, 40001 alignments$' "$work/deep_out"; check "build of the 40001-row MSA" $?
"$axial" features plot "$work/deep.h5" --chain deep --kind msa -o "$work/deep.png" \
    > "$work/deep_out" 2> "$work/deep_err"
rc=$?
[ $rc -eq 0 ] && grep -q 'msa map of deep, 40001 x 12 (2 MSA rows per line, averaged' "$work/deep_out"
check "plot of a 40001-row MSA succeeds (exit $rc), saying rows are averaged in pairs" $?
height=$(od -An -tu1 -j20 -N4 "$work/deep.png" 2> /dev/null | awk '{print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4}')
[ "${height:-0}" -gt 20001 ] && [ "${height:-0}" -lt 20401 ]
check "the deep MSA's figure is 20001 lines plus margins tall (got ${height:-none})" $?

# A failed append leaves the existing store as it was.
before=$(md5sum < "$work/s.h5")
"$axial" features build --a3m "$data/query.a3m" --name FAM69B -o "$work/s.h5" > /dev/null 2>&1
[ $? -ne 0 ]; check "adding an existing chain name fails" $?
[ "$(md5sum < "$work/s.h5")" = "$before" ]; check "the store is unchanged after the failed append" $?

# An output that is an input is refused, and the input stays (plot -o STORE had turned the store into
# a PNG; build --replace -o of its own A3M had overwritten the A3M).
before=$(md5sum < "$work/s.h5")
ln -sf "$work/s.h5" "$work/s_link.h5"
for target in "$work/s.h5" "$work/s_link.h5"; do
    "$axial" features plot "$work/s.h5" --chain 1cbs_A --kind contact -o "$target" > /dev/null 2> "$work/stderr"
    [ $? -eq 2 ] && grep -q "is the input store" "$work/stderr"; check "plot -o the store itself is refused" $?
done
[ "$(md5sum < "$work/s.h5")" = "$before" ]; check "the store is unchanged after plot -o the store" $?
cp "$data/query.a3m" "$work/q.a3m"
"$axial" features build --a3m "$work/q.a3m" --name x -o "$work/q.a3m" --replace > /dev/null 2> "$work/stderr"
[ $? -eq 2 ] && grep -q -- "is the input --a3m" "$work/stderr" && cmp -s "$data/query.a3m" "$work/q.a3m"
check "build -o its own A3M is refused and the A3M kept" $?
# A value option given twice is refused (it had been last-wins: --mmcif A --pdb B built from B).
expect_failure "--mmcif and --pdb" "--mmcif/--pdb given twice" "$work/x.h5" "$axial" features build --mmcif "$data/1cbs.cif.gz" --pdb "$data/1tii.pdb" --name x -o "$work/x.h5"
expect_failure "-o twice" "-o given twice" "$work/x.h5" "$axial" features build --a3m "$data/query.a3m" --name x -o "$work/y.h5" -o "$work/x.h5"
expect_failure "--compress-msa twice" "--compress-msa given twice" "$work/x.h5" "$axial" features build --a3m "$data/query.a3m" --name x -o "$work/x.h5" --compress-msa=3 --compress-msa
# ... in every subcommand (generate had run the second --prompt alone); a value that looks like an
# option is a value. Each command also has a bad model, data or value, so that a build without the
# check fails at once instead of running (or serving).
expect_failure "generate --prompt twice" "--prompt given twice" "$work/x.h5" "$axial" generate --model "$work/no-such.gguf" --prompt a --prompt b
expect_failure "serve --port twice" "--port given twice" "$work/x.h5" "$axial" serve --model "$work/no-such.gguf" --port 0 --port 0
expect_failure "tokenize --model twice" "--model given twice" "$work/x.h5" "$axial" tokenize --model a --model b hi
expect_failure "attention --threads twice" "--threads given twice" "$work/x.h5" "$axial" attention --threads 1 --repeat 0 --threads 2
expect_failure "demo --out twice" "--out given twice" "$work/demo-b" "$axial" demo --data "$work/no-such" --out "$work/demo-a" --out "$work/demo-b"
[ ! -e "$work/demo-a" ]; check "demo --out twice: no first output folder either" $?
"$axial" generate --model "$work/no-such.gguf" --prompt --prompt > /dev/null 2> "$work/stderr"
! grep -q "given twice" "$work/stderr" && grep -q "no-such.gguf" "$work/stderr"
check "generate --prompt --prompt: the second is the prompt's value" $?
expect_failure "tokenize --model after --" "after the TEXT that follows --" "$work/x.h5" "$axial" tokenize --model "$work/no-a.gguf" -- hi --model "$work/no-b.gguf"
"$axial" attention --threads 1 --threads 2 --help > "$work/stdout" 2>&1
check "attention with a repeated option and --help: help wins" $?
[ ! -e "$work/y.h5" ]; check "-o twice: neither output written" $?
# "-h" as an option's value is that value (a chain may be named "-h"), not a request for help.
"$axial" features build --a3m "$data/query.a3m" --name -h -o "$work/h.h5" > /dev/null 2>&1 &&
    "$axial" features show "$work/h.h5" | grep -Eq '^-h +431 '
check "--name -h names the chain -h" $?

# Help at every level (gguf show --help had been an unknown option); ranges named as they are; the
# "no model" hint only without --model (it had followed any unreadable --model FILE).
"$axial" gguf show --help > "$work/gguf_help" 2>&1
[ $? -eq 0 ] && grep -q 'axial gguf show FILE.gguf' "$work/gguf_help"; check "gguf show --help: usage, exit 0" $?
"$axial" tokenize --model "$work/no-such.gguf" hi > /dev/null 2> "$work/tok_err"
[ $? -eq 1 ] && grep -q 'no-such.gguf' "$work/tok_err" && ! grep -q 'fetch-model' "$work/tok_err"
check "tokenize --model MISSING names it, without the fetch-model hint" $?
"$axial" generate --model "$work/no-such.gguf" --prompt hi --temperature 1e30 > /dev/null 2> "$work/gen_err"
[ $? -eq 2 ] && grep -qF -- "--temperature '1e30': expected a number in [0, 1e6]" "$work/gen_err"
check "generate --temperature 1e30 names the range [0, 1e6]" $?
"$axial" generate --model "$work/no-such.gguf" --prompt hi --threads 10000 > /dev/null 2> "$work/gen_err"
[ $? -eq 2 ] && grep -qF -- "expected an integer in [0, 4096]" "$work/gen_err"
check "generate --threads 10000 names [0, 4096]" $?
"$axial" serve --alias "" > /dev/null 2> "$work/serve_err"
[ $? -eq 2 ] && grep -qF -- "--alias ''" "$work/serve_err"; check "serve --alias '' is refused" $?
"$axial" serve --device gpu > /dev/null 2> "$work/serve_err"
[ $? -eq 2 ] && grep -qF -- "--device 'gpu': expected cpu or cuda" "$work/serve_err"
check "serve --device gpu is refused" $?
"$axial" serve --admission eager > /dev/null 2> "$work/serve_err"
[ $? -eq 2 ] && grep -qF -- "--admission 'eager': expected preempt or reserve" "$work/serve_err"
check "serve --admission eager is refused" $?
# demo --device cuda on a machine without a usable GPU fails before writing anything (it had built the
# store first and failed at the attention step).
if "$axial" info 2>/dev/null | grep -q 'no CUDA device'; then
    "$axial" demo --device cuda --data "$data" --out "$work/demo_cuda" > /dev/null 2> "$work/demo_err"
    [ $? -eq 1 ] && [ ! -e "$work/demo_cuda" ] && grep -q -- '--device cuda' "$work/demo_err"
    check "demo --device cuda without a GPU: exit 1, nothing written" $?
fi

echo "cli: $passed passed, $failed failed"
[ $failed -eq 0 ]

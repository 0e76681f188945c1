"""The HDF5 feature store as h5py sees it: the documented layout, and values checked against the
sample files read independently here (plain Python over the A3M and mmCIF text)."""
import gzip
import os
import subprocess

import h5py
import numpy as np
import pytest

AXIAL = os.environ.get("AXIAL_BIN", "build/tools/axial")
DATA = os.environ.get("AXIAL_TEST_DATA", "tests/data")
AF_ORDER = "ARNDCQEGHILKMFPSTWYV"


def a3m_rows(path):
    """(name, match-column letters, deletions) per record, skipping hh-suite annotation records."""
    rows, name, seq = [], None, []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            if line.startswith(">"):
                if name is not None:
                    rows.append((name, "".join(seq)))
                name, seq = line[1:], []
            else:
                seq.append(line)
    rows.append((name, "".join(seq)))
    annotations = ("ss_pred", "ss_conf", "ss_dssp", "sa_dssp", "aa_")
    out = []
    for name, text in rows:
        if name.startswith(annotations):
            continue
        letters, deletions, pending = [], [], 0
        for c in text:
            if c.isupper() or c == "-":
                letters.append(c)
                deletions.append(pending)
                pending = 0
            elif c.islower():
                pending += 1
        out.append((name, "".join(letters), deletions))
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("store") / "s.h5")
    subprocess.run([AXIAL, "features", "build", "--a3m", f"{DATA}/query.a3m", "--name", "FAM69B", "-o", path],
                   check=True, capture_output=True)
    subprocess.run([AXIAL, "features", "build", "--mmcif", f"{DATA}/1cbs.cif.gz", "--chain", "A", "--name",
                    "1cbs_A", "-o", path], check=True, capture_output=True)
    with h5py.File(path, "r") as f:
        yield f


def test_root_schema(store):
    assert int(store.attrs["axial_schema_version"]) == 2
    assert sorted(store["chains"].keys()) == ["1cbs_A", "FAM69B"]


def test_msa_layout_and_values(store):
    rows = a3m_rows(f"{DATA}/query.a3m")
    g = store["chains/FAM69B"]
    L, N = len(rows[0][1]), len(rows)
    assert (L, N) == (431, 59)
    assert int(g["seq_length"][()]) == L and int(g["num_alignments"][()]) == N
    assert "row_offsets" not in g["msa"]  # schema 1 only
    assert g["msa/tokens"].shape == (N, L) and g["msa/tokens"].dtype == np.uint8
    assert g["msa/deletions"].shape == (N, L) and g["msa/deletions"].dtype == np.uint8
    tokens = g["msa/tokens"][()].astype(np.int64)
    deletions = g["msa/deletions"][()].astype(np.int64)
    gap = 21
    for r, (_, letters, dels) in enumerate(rows):
        assert list(tokens[r] == gap) == [c == "-" for c in letters], f"gaps of row {r}"
        assert list(deletions[r]) == dels, f"deletions of row {r}"
    query = rows[0][1]
    expected = [AF_ORDER.index(c) if c in AF_ORDER else 20 for c in query]
    assert list(g["aatype"][()]) == expected
    seq = g["sequence"][()]
    assert (seq.decode() if isinstance(seq, bytes) else seq) == query
    # Schema 2: column blocks of 64, checksummed, not compressed (docs/feature-store.md).
    for name in ("msa/tokens", "msa/deletions"):
        d = g[name]
        assert d.chunks == (N, 64) and d.fletcher32 and d.compression is None and not d.shuffle
    # A crop window, as a training loader reads it, straight from h5py.
    window = g["msa/tokens"][:, 380:431].astype(np.int64)
    for r, (_, letters, _) in enumerate(rows):
        assert list(window[r] == gap) == [c == "-" for c in letters[380:431]], f"gaps of row {r} in the window"


def test_structure_values(store):
    g = store["chains/1cbs_A"]
    assert float(g["resolution"][()]) == pytest.approx(1.8)
    pos, mask = g["all_atom_positions"][()], g["all_atom_mask"][()]
    assert pos.shape == (137, 37, 3) and mask.shape == (137, 37)
    # Independently: every polymer ATOM record of chain A, first model, as (residue number, atom).
    atoms = {}
    with gzip.open(f"{DATA}/1cbs.cif.gz", "rt") as f:
        header = []
        for line in f:
            if line.startswith("_atom_site."):
                header.append(line.strip().split(".", 1)[1])
            elif line.startswith("ATOM") and header:
                v = dict(zip(header, line.split()))
                if v["auth_asym_id"] == "A" and v.get("pdbx_PDB_model_num", "1") == "1":
                    atoms[(int(v["label_seq_id"]), v["label_atom_id"])] = tuple(
                        float(v[k]) for k in ("Cartn_x", "Cartn_y", "Cartn_z"))
    ca = 1  # atom37 index of CA
    first_ca = atoms[(1, "CA")]
    assert tuple(pos[0, ca]) == pytest.approx(first_ca, abs=1e-3)
    assert mask[:, ca].sum() == sum(1 for (_, name) in atoms if name == "CA")
    assert mask.sum() == len(atoms)


# ---- stores written or edited by other tools --------------------------------------------------------
# A crafted file must give an error naming the file and what is wrong, never a crash: attributes and
# string datasets holding several elements had been read into a buffer of one (a stack or heap
# overflow: SIGSEGV, or "malloc(): invalid size" killing Python), and counts were trusted before the
# arrays' shapes (a num_alignments of 2^30 was an anonymous "out of memory").


def edited_copy(store, tmp_path, edit):
    """A copy of the fixture store, edited by `edit(h5py.File)`; returns its path."""
    path = str(tmp_path / "edited.h5")
    with open(store.filename, "rb") as src, open(path, "wb") as dst:
        dst.write(src.read())
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def plot(path, tmp_path, chain="FAM69B"):
    return subprocess.run([AXIAL, "features", "plot", path, "--chain", chain, "--kind", "msa", "-o",
                           str(tmp_path / "msa.png")], capture_output=True, text=True, timeout=120)


def refused(r, *needles):
    assert r.returncode == 1, (r.returncode, r.stderr)  # not a signal (negative) or 134/139
    for n in needles:
        assert n in r.stderr, r.stderr


def test_schema_attribute_with_many_values_is_refused(store, tmp_path):
    def edit(f):
        f.attrs["axial_schema_version"] = np.full(4096, 2, np.int64)
    r = subprocess.run([AXIAL, "features", "show", edited_copy(store, tmp_path, edit)], capture_output=True,
                       text=True, timeout=60)
    refused(r, "axial_schema_version", "not one integer")


def test_sources_attribute_with_many_strings_is_refused(store, tmp_path):
    def edit(f):
        g = f["chains/FAM69B"]
        del g.attrs["sources"]
        g.attrs.create("sources", np.array([b"abcdefgh"] * 64, dtype=h5py.string_dtype("utf-8", 8)))
    r = subprocess.run([AXIAL, "features", "show", edited_copy(store, tmp_path, edit)], capture_output=True,
                       text=True, timeout=60)
    refused(r, "sources", "holds 64 strings")


def test_sequence_with_many_strings_or_a_huge_size_is_refused(store, tmp_path):
    def many(f):
        seq = f["chains/FAM69B/sequence"][()]
        del f["chains/FAM69B/sequence"]
        f.create_dataset("chains/FAM69B/sequence", data=np.array([seq] * 4, dtype=h5py.string_dtype("utf-8", len(seq))))
    refused(plot(edited_copy(store, tmp_path, many), tmp_path), "sequence", "holds 4 strings")

    def huge(f):
        del f["chains/FAM69B/sequence"]
        f.create_dataset("chains/FAM69B/sequence", shape=(), dtype=h5py.string_dtype("utf-8", 1 << 30))
    refused(plot(edited_copy(store, tmp_path, huge), tmp_path), "sequence", "at most 432 expected")


def test_ascii_strings_from_other_tools_are_read(store, tmp_path):
    """h5py's bytes (and C's H5T_C_S1) are ASCII strings: HDF5 converts none to UTF-8, and the store had
    refused them ("no appropriate function for conversion path")."""
    def edit(f):
        seq = f["chains/FAM69B/sequence"][()]
        del f["chains/FAM69B/sequence"]
        f.create_dataset("chains/FAM69B/sequence", data=np.bytes_(seq))
    r = plot(edited_copy(store, tmp_path, edit), tmp_path)
    assert r.returncode == 0, r.stderr


def test_counts_larger_than_the_arrays_are_refused_by_name(store, tmp_path):
    def edit(f):
        f["chains/FAM69B/num_alignments"][()] = 1 << 30
    refused(plot(edited_copy(store, tmp_path, edit), tmp_path), "msa/tokens dim 0 is 59, expected 1073741824")


def test_a_fifo_is_not_read_as_a_store(tmp_path):
    """A FIFO had blocked the reader for good."""
    fifo = tmp_path / "pipe.h5"
    os.mkfifo(fifo)
    r = subprocess.run([AXIAL, "features", "show", str(fifo)], capture_output=True, text=True, timeout=60)
    refused(r, "FIFO")


def test_chain_names_the_writer_would_refuse_are_refused(store, tmp_path):
    """A chain name that is not UTF-8 had made Python's listing of the whole store raise
    UnicodeDecodeError; one longer than the paths built from it had been cut off."""
    for bad in (b"chains/\xff\xfeq", b"chains/" + b"n" * 300, b"chains/a b"):
        def edit(f, bad=bad):
            f.move("chains/FAM69B", bad)
        r = subprocess.run([AXIAL, "features", "show", edited_copy(store, tmp_path, edit)], capture_output=True,
                           text=True, errors="replace", timeout=60)
        refused(r, "is not one Axial writes")


def test_links_to_other_files_or_places_are_not_followed(store, tmp_path):
    """A chain (or a dataset in one) that is an external or soft link had been followed: into another
    file, where a FIFO would block the reader."""
    other = str(tmp_path / "other.h5")
    with open(store.filename, "rb") as src, open(other, "wb") as dst:
        dst.write(src.read())

    def external(f):
        f["chains/ext"] = h5py.ExternalLink(other, "/chains/FAM69B")
    refused(subprocess.run([AXIAL, "features", "show", edited_copy(store, tmp_path, external)],
                           capture_output=True, text=True, timeout=60), "chain 'ext' is a link")

    def soft(f):
        del f["chains/FAM69B/aatype"]
        f["chains/FAM69B/aatype"] = h5py.SoftLink("/chains/1cbs_A/aatype")
    refused(plot(edited_copy(store, tmp_path, soft), tmp_path), "missing dataset /chains/FAM69B/aatype")

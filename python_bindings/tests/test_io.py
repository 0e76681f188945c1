"""axial.io against the real sample files (tests/data, see PROVENANCE.md), read independently here:
the A3M text parsed in plain Python, the mmCIF atom table split by whitespace, the store read back
with h5py."""
import gzip

import numpy as np
import pytest

import axial
import axial.io

AF_ORDER = "ARNDCQEGHILKMFPSTWYV"
HHBLITS_MAP = {"B": "D", "Z": "E", "U": "C"}


def a3m_rows(path):
    """(match-column letters, deletions) per record of an A3M file."""
    records, seq = [], None
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("#"):
            continue
        if line.startswith(">"):
            if seq is not None:
                records.append("".join(seq))
            seq = []
        else:
            seq.append(line)
    records.append("".join(seq))
    rows = []
    for text in records:
        letters, deletions, pending = [], [], 0
        for c in text:
            if c.isupper() or c == "-":
                letters.append(c)
                deletions.append(pending)
                pending = 0
            elif c.islower():
                pending += 1
        rows.append(("".join(letters), deletions))
    return rows


def msa_token(c):
    if c == "-":
        return 21
    c = HHBLITS_MAP.get(c, c)
    return AF_ORDER.index(c) if c in AF_ORDER else 20


def cif_ca_coordinates(path):
    """{label_seq_id: (x, y, z)} of chain A's CA atoms, first model, from the _atom_site rows."""
    out = {}
    with gzip.open(path, "rt") as f:
        for line in f:
            if not line.startswith("ATOM"):
                continue
            cols = line.split()
            if cols[3] == "CA" and cols[18] == "A" and cols[20] == "1":
                out[int(cols[8])] = tuple(float(c) for c in cols[10:13])
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory, data_dir):
    path = tmp_path_factory.mktemp("store") / "s.h5"
    axial.io.build_features(a3m=data_dir / "query.a3m", store=path, name="FAM69B")
    axial.io.build_features(mmcif=data_dir / "1cbs.cif.gz", chain="A", store=path, name="1cbs_A")
    return path


def test_a3m_features_match_the_text(data_dir):
    rows = a3m_rows(data_dir / "query.a3m")
    f = axial.io.build_features(a3m=data_dir / "query.a3m")
    assert (f["num_alignments"], f["seq_length"]) == (59, 431) == (len(rows), len(rows[0][0]))
    assert f["sequence"] == rows[0][0]
    assert f["msa"].dtype == np.int32 and f["msa"].shape == (59, 431)
    want_msa = np.array([[msa_token(c) for c in letters] for letters, _ in rows], np.int32)
    want_del = np.array([d for _, d in rows], np.int32)
    np.testing.assert_array_equal(f["msa"], want_msa)
    np.testing.assert_array_equal(f["deletion_matrix"], want_del)
    np.testing.assert_array_equal(f["aatype"], [AF_ORDER.index(c) if c in AF_ORDER else 20 for c in rows[0][0]])
    np.testing.assert_array_equal(f["residue_index"], np.arange(431))
    assert f["all_atom_positions"] is None and f["resolution"] == 0.0


def test_build_features_merges_msas_and_drops_duplicates(tmp_path):
    # Rows in order (a3m files, then sto files); a row whose aligned letters repeat an earlier one,
    # in the same MSA or an earlier one, is dropped unless dedup=False. By hand: one.a3m is q, a (q's
    # letters plus an insertion), b; two.a3m is q, c (b's letters), d (B: token 3 like D, other letters).
    one, two, sto = tmp_path / "one.a3m", tmp_path / "two.a3m", tmp_path / "s.sto"
    one.write_text(">q\nMKVL\n>a\nMKgVL\n>b\nM-VL\n")
    two.write_text(">q\nMKVL\n>c\nM-VL\n>d\nMBVL\n")
    sto.write_text("# STOCKHOLM 1.0\nq MKVL\ne MRVL\nf M-VL\n//\n")
    M, K, V, L, D, R, GAP = 12, 11, 19, 10, 3, 1, 21
    f = axial.io.build_features(a3m=[one, two])
    np.testing.assert_array_equal(f["msa"], [[M, K, V, L], [M, GAP, V, L], [M, D, V, L]])
    np.testing.assert_array_equal(f["deletion_matrix"], np.zeros((3, 4), np.int32))
    f = axial.io.build_features(a3m=[one, two], dedup=False)
    assert f["msa"].shape == (6, 4)
    np.testing.assert_array_equal(f["deletion_matrix"][1], [0, 0, 1, 0])  # a: 'g' before V
    f = axial.io.build_features(a3m=one)  # one MSA: its duplicate row goes too
    np.testing.assert_array_equal(f["msa"], [[M, K, V, L], [M, GAP, V, L]])
    store = tmp_path / "m.h5"
    f = axial.io.build_features(a3m=one, sto=sto, store=store, name="m")  # q, b, then e (f repeats b)
    np.testing.assert_array_equal(f["msa"], [[M, K, V, L], [M, GAP, V, L], [M, R, V, L]])
    assert axial.io.list_chains(store)[0]["sources"] == f"{one} {sto}"


def test_build_features_msas_in_alphafolds_order(tmp_path):
    # AlphaFold merges uniref90 (sto), bfd (a3m), mgnify (sto), and a repeated row keeps its first
    # occurrence's deletions. By hand: the sto hit ACDKKEWGY has KK in the query's gap columns (2
    # deletions before E, column 3); the a3m hit AkCDEWGY aligns to the same letters (ACDEWGY) with 1
    # deletion before C (column 1). a3m=/sto= merge the a3m first and so keep the a3m's deletions.
    sto, a3m = tmp_path / "u90.sto", tmp_path / "bfd.a3m"
    sto.write_text("# STOCKHOLM 1.0\nquery ACD--EFGY\nhitA  ACDKKEWGY\n//\n")
    a3m.write_text(">query\nACDEFGY\n>hitB\nAkCDEWGY\n")
    f = axial.io.build_features(msas=[sto, a3m])
    assert f["msa"].shape == (2, 7)
    np.testing.assert_array_equal(f["deletion_matrix"][1], [0, 0, 0, 2, 0, 0, 0])
    f = axial.io.build_features(msas=[("a3m", a3m), ("sto", sto)])
    np.testing.assert_array_equal(f["deletion_matrix"][1], [0, 1, 0, 0, 0, 0, 0])
    f = axial.io.build_features(sto=sto, a3m=a3m)  # the a3m= files first, as documented
    np.testing.assert_array_equal(f["deletion_matrix"][1], [0, 1, 0, 0, 0, 0, 0])
    with pytest.raises(axial.InvalidArgumentError, match="not both"):
        axial.io.build_features(msas=[sto], a3m=a3m)
    with pytest.raises(axial.InvalidArgumentError, match=r"msas\[0\]: cannot tell the format"):
        axial.io.build_features(msas=[tmp_path / "hits.txt"])
    with pytest.raises(axial.InvalidArgumentError, match="a list of MSAs"):
        axial.io.build_features(msas=sto)


def test_mmcif_features_match_the_atom_table(data_dir):
    f = axial.io.build_features(mmcif=data_dir / "1cbs.cif.gz", chain="A")
    assert f["seq_length"] == 137 and f["num_alignments"] == 1
    assert f["resolution"] == pytest.approx(1.8)
    ca = cif_ca_coordinates(data_dir / "1cbs.cif.gz")
    assert len(ca) == 137
    pos, mask = f["all_atom_positions"], f["all_atom_mask"]
    assert pos.shape == (137, 37, 3) and mask.shape == (137, 37)
    for seq_id, xyz in ca.items():
        np.testing.assert_allclose(pos[seq_id - 1, 1], xyz, atol=1e-4)
        assert mask[seq_id - 1, 1] == 1.0


def test_dna_chains_are_skipped_or_refused(data_dir):
    # 1LCD: DNA chains B and C come first, then protein chain A (51 residues, entity 3 of
    # `zcat 1lcd.cif.gz | grep -A9 '^_entity_poly.entity_id'`).
    f = axial.io.build_features(mmcif=data_dir / "1lcd.cif.gz")
    assert f["seq_length"] == 51 and f["sequence"].startswith("MKPVTLYDV")
    with pytest.raises(axial.InvalidArgumentError, match="chain B: polymer type DNA, not protein"):
        axial.io.build_features(mmcif=data_dir / "1lcd.cif.gz", chain="B")


def test_read_chain_round_trip_and_h5py(store, data_dir):
    built = axial.io.build_features(a3m=data_dir / "query.a3m")
    read = axial.io.read_chain(store, "FAM69B")
    for key in ("aatype", "residue_index", "msa", "deletion_matrix"):
        np.testing.assert_array_equal(read[key], built[key])
    assert read["sequence"] == built["sequence"]
    chains = axial.io.list_chains(store)
    assert [c["name"] for c in chains] == ["1cbs_A", "FAM69B"]
    assert chains[0]["has_structure"] and chains[0]["seq_length"] == 137
    assert "1cbs.cif.gz:A" in chains[0]["sources"]
    # a closed Store says so (it had said "store: expected axial._axial.store")
    s = axial.io.Store(store)
    assert s.chains() == ["1cbs_A", "FAM69B"]
    s.close()
    for call in (s.chains, lambda: s.info("FAM69B"), lambda: axial.io.make_batch(s, "FAM69B", crop=16)):
        with pytest.raises(axial.InvalidArgumentError, match="is closed"):
            call()
    h5py = pytest.importorskip("h5py")
    with h5py.File(store, "r") as h5:
        np.testing.assert_array_equal(h5["chains/FAM69B/aatype"][()], built["aatype"])
        tokens = h5["chains/FAM69B/msa/tokens"][()].reshape(59, 431)
        np.testing.assert_array_equal(tokens, built["msa"])


def test_write_chain_from_arrays(tmp_path, store):
    f = axial.io.read_chain(store, "1cbs_A")
    out = tmp_path / "copy.h5"
    axial.io.write_chain(out, "copy", f, sources="test")
    g = axial.io.read_chain(out, "copy")
    np.testing.assert_array_equal(g["all_atom_positions"], f["all_atom_positions"])
    assert g["resolution"] == pytest.approx(1.8)
    # Integer arrays are taken as they are or refused: NumPy's cast had floored a float MSA and
    # wrapped 2**32 + 5 to 5, written as valid data. Whole floats are integers.
    as_float = dict(f, msa=f["msa"].astype(np.float64))
    axial.io.write_chain(tmp_path / "f.h5", "f", as_float)
    np.testing.assert_array_equal(axial.io.read_chain(tmp_path / "f.h5", "f")["msa"], f["msa"])
    for key, bad, why in (("msa", f["msa"] + 0.7, "expected integers"),
                          ("aatype", f["aatype"].astype(np.int64) + 2**32, "values outside int32"),
                          ("deletion_matrix", np.full(f["deletion_matrix"].shape, np.nan), "expected integers")):
        with pytest.raises(axial.InvalidArgumentError, match=f"features\\['{key}'\\]: {why}"):
            axial.io.write_chain(tmp_path / "bad.h5", "x", dict(f, **{key: bad}))
    assert not (tmp_path / "bad.h5").exists()


def test_compressed_msa_reads_back_the_same(tmp_path, store, data_dir):
    """compress_msa deflates the stored MSA (the HDF5 filter is visible to h5py); chains and batches
    read back equal to the uncompressed store's, and bad levels are refused before anything is
    written."""
    plain, packed = tmp_path / "plain.h5", tmp_path / "packed.h5"
    axial.io.build_features(a3m=data_dir / "query.a3m", store=plain, name="q")
    axial.io.build_features(a3m=data_dir / "query.a3m", store=packed, name="q", compress_msa=6)
    assert packed.stat().st_size < plain.stat().st_size
    a, b = axial.io.read_chain(plain, "q"), axial.io.read_chain(packed, "q")
    for key in ("msa", "deletion_matrix", "aatype"):
        np.testing.assert_array_equal(a[key], b[key])
    ba = axial.io.make_batch(plain, "q", crop=100, msa_clusters=16, extra_msa=32, seed=5)
    bb = axial.io.make_batch(packed, "q", crop=100, msa_clusters=16, extra_msa=32, seed=5)
    for key in ba:
        np.testing.assert_array_equal(ba[key], bb[key])
    h5py = pytest.importorskip("h5py")
    with h5py.File(packed, "r") as h5:
        assert h5["chains/q/msa/tokens"].compression == "gzip"
    with h5py.File(plain, "r") as h5:
        assert h5["chains/q/msa/tokens"].compression is None
    for bad in (-1, 10, 1.5):  # 1.5 had been a bare TypeError
        with pytest.raises(axial.InvalidArgumentError, match="compress_msa"):
            axial.io.write_chain(tmp_path / "bad.h5", "q", a, compress_msa=bad)
    # sizes are integers: crop=1.5 had been truncated to 1 without a word
    for key in ("crop", "msa_clusters", "extra_msa", "seed"):
        with pytest.raises(axial.InvalidArgumentError, match=f"{key}: expected an integer"):
            axial.io.make_batch(plain, "q", **{key: 1.5})
        with pytest.raises(axial.InvalidArgumentError, match=f"{key}: expected an integer"):
            axial.io.batch_from_features(a, **{key: 1.5})
    # a seed outside [0, 2**64) is refused by name (-1 had been taken as 2**64 - 1)
    for seed in (-1, 2**64):
        with pytest.raises(axial.InvalidArgumentError, match="seed"):
            axial.io.make_batch(plain, "q", crop=100, msa_clusters=16, extra_msa=32, seed=seed)
    assert not (tmp_path / "bad.h5").exists()


def test_features_from_sequence():
    f = axial.io.features_from_sequence("acdB")
    assert f["sequence"] == "ACDB"
    np.testing.assert_array_equal(f["aatype"], [0, 4, 3, 20])
    np.testing.assert_array_equal(f["msa"], [[0, 4, 3, 3]])  # B -> D in the MSA, X in aatype
    with pytest.raises(axial.InvalidArgumentError):
        axial.io.features_from_sequence("AC1")


def test_make_batch_is_deterministic_and_consistent(store):
    b1 = axial.io.make_batch(store, "FAM69B", crop=64, msa_clusters=16, extra_msa=8, seed=5)
    b2 = axial.io.make_batch(store, "FAM69B", crop=64, msa_clusters=16, extra_msa=8, seed=5)
    b3 = axial.io.make_batch(store, "FAM69B", crop=64, msa_clusters=16, extra_msa=8, seed=6)
    L, C, E = 64, 16, 8
    assert (b1["num_res"], b1["num_clusters"], b1["num_extra"], b1["num_remaining"]) == (L, C, E, 59 - C)
    assert b1["msa_feat"].shape == (C, L, 49) and b1["target_feat"].shape == (L, 22)
    assert b1["extra_msa"].shape == (E, L) and b1["cluster_assignment"].shape == (59 - C,)
    for key, value in b1.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, b2[key], err_msg=key)
    assert not np.array_equal(b1["msa_row"], b3["msa_row"]) or b1["crop_start"] != b3["crop_start"]
    # msa_feat channels 0..22 are the one-hot of the masked msa; target_feat 1..21 of aatype.
    np.testing.assert_array_equal(b1["msa_feat"][..., :23].argmax(-1), b1["msa"])
    np.testing.assert_array_equal(b1["target_feat"][:, 1:].argmax(-1), b1["aatype"])
    np.testing.assert_allclose(b1["cluster_profile"].sum(-1), 1.0, rtol=1e-5)
    # The cropped query row is the chain's own tokens where it was not masked.
    f = axial.io.read_chain(store, "FAM69B")
    s = b1["crop_start"]
    np.testing.assert_array_equal(b1["true_msa"][0], f["msa"][0, s:s + L])
    assert b1["all_atom_positions"] is None


def test_make_batch_equals_batch_from_read_chain(store):
    # make_batch reads only the crop's columns (ax_store_read_batch); the batch must be the one built
    # from the whole chain, byte for byte, with and without a structure, cropped or not.
    for name, crop, seed in [("FAM69B", 64, 5), ("FAM69B", 0, 2), ("FAM69B", 1000, 3), ("1cbs_A", 40, 1)]:
        got = axial.io.make_batch(store, name, crop=crop, msa_clusters=16, extra_msa=8, seed=seed)
        want = axial.io.batch_from_features(axial.io.read_chain(store, name), crop=crop, msa_clusters=16,
                                            extra_msa=8, seed=seed)
        assert got.keys() == want.keys()
        for key, value in want.items():
            if isinstance(value, np.ndarray):
                assert got[key].dtype == value.dtype, key
                np.testing.assert_array_equal(got[key], value, err_msg=f"{name} crop {crop}: {key}")
            else:
                assert got[key] == value, key
    with pytest.raises(axial.InvalidArgumentError, match="no chain 'nope'"):
        axial.io.make_batch(store, "nope")
    with pytest.raises(axial.InvalidArgumentError, match="max_msa_clusters"):
        axial.io.make_batch(store, "FAM69B", msa_clusters=0)


def test_batch_from_features_with_structure(store):
    f = axial.io.read_chain(store, "1cbs_A")
    b = axial.io.batch_from_features(f, crop=40, seed=1)
    s = b["crop_start"]
    np.testing.assert_array_equal(b["all_atom_positions"], f["all_atom_positions"][s:s + 40])


def test_maps_match_numpy(store):
    f = axial.io.read_chain(store, "1cbs_A")
    ca = f["all_atom_positions"][:, 1].astype(np.float64)
    want = np.sqrt(((ca[:, None] - ca[None]) ** 2).sum(-1))
    d = axial.io.ca_distance_map(f)
    np.testing.assert_allclose(d, want, rtol=1e-5, atol=1e-4)
    c = axial.io.contact_map(f, 8.0)
    np.testing.assert_array_equal(c, (want < 8.0).astype(np.float32))
    m = axial.io.msa_identity_map(axial.io.read_chain(store, "FAM69B"))
    fam = axial.io.read_chain(store, "FAM69B")["msa"]
    want_m = np.where(fam == 21, 0.0, np.where(fam == fam[0], 1.0, 0.5))
    np.testing.assert_array_equal(m, want_m)


def read_png_rgb(path):
    """(height, width, 3) uint8 pixels of an 8-bit RGB, non-interlaced PNG, decoded here with zlib
    (PNG's five row filters undone by hand), independently of the library's encoder."""
    import struct
    import zlib

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert (depth, colour, interlace) == (8, 2, 0)
    raw, stride = zlib.decompress(idat), width * 3
    out = np.zeros((height, stride), np.int32)
    for y in range(height):
        filt = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        prior = out[y - 1] if y > 0 else np.zeros(stride, np.int32)
        if filt in (0, 2):
            out[y] = (line + (prior if filt == 2 else 0)) & 255
        else:
            row = np.zeros(stride, np.int32)
            for x in range(stride):
                a = row[x - 3] if x >= 3 else 0
                b, c = prior[x], (prior[x - 3] if x >= 3 else 0)
                if filt == 1:
                    pred = a
                elif filt == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                row[x] = (line[x] + pred) & 255
            out[y] = row
    return out.reshape(height, width, 3).astype(np.uint8)


def test_plot_writes_png(tmp_path, store):
    path = tmp_path / "d.png"
    values = axial.io.plot(store, "1cbs_A", "distance", path)
    assert values.shape == (137, 137)
    px = read_png_rgb(path)
    # A readable figure: 137 residues scaled up to 5-pixel cells (685 pixels) plus axes and a colour bar.
    assert 685 + 100 <= px.shape[1] <= 1100 and 685 + 60 <= px.shape[0] <= 1100
    # Cell colours are those of the bare renderer; the first pixel of residue 1's self-distance (0 A,
    # the bottom colour) is the map's corner.
    cells = axial.io.render_heatmap(values, cmap="viridis")
    ys, xs = np.nonzero((px == cells[0, 0]).all(axis=2))
    y0, x0 = ys[0], xs[0]
    for i, j in [(0, 0), (0, 49), (49, 0), (100, 3), (136, 136)]:
        block = px[y0 + 5 * i:y0 + 5 * i + 5, x0 + 5 * j:x0 + 5 * j + 5]
        assert (block == cells[i, j]).all(), (i, j)
    ink = lambda region: ((region[..., 0] < 160) & (region[..., 0] == region[..., 1])).sum()  # noqa: E731
    assert ink(px[:y0 - 8]) > 100  # the title
    assert ink(px[y0 + 690:]) > 100  # residue numbers and the axis label
    # Deterministic: the same figure again, byte for byte.
    again = tmp_path / "d2.png"
    axial.io.plot(store, "1cbs_A", "distance", again)
    assert again.read_bytes() == path.read_bytes()
    msa = axial.io.plot(store, "FAM69B", "msa")
    assert msa.shape == (59, 431)
    with pytest.raises(axial.InvalidArgumentError, match="no structure"):
        axial.io.plot(store, "FAM69B", "contact")
    rgb = axial.io.render_heatmap(np.array([[0.0, 1.0]], np.float32), 0.0, 1.0, "grays")
    np.testing.assert_array_equal(rgb, [[[0, 0, 0], [255, 255, 255]]])


def test_write_figure(tmp_path):
    values = np.array([[0.0, 0.5], [1.0, np.nan]], np.float32)
    path = tmp_path / "f.png"
    axial.io.write_figure(path, values, 0.0, 1.0, "blue_white_red", title="Signed map", x_label="column",
                          y_label="row", value_label="distance (Å)", x_first=1, y_first=1)
    px = read_png_rgb(path)
    # 2 x 2 cells: automatic size 720 / 2 -> 64 pixels at most. Cell (1, 1) is NaN: magenta.
    blue = np.array([0x28, 0x50, 0xAA], np.uint8)
    ys, xs = np.nonzero((px == blue).all(axis=2))
    y0, x0 = ys[0], xs[0]
    assert (px[y0:y0 + 64, x0:x0 + 64] == blue).all()
    assert (px[y0:y0 + 64, x0 + 64:x0 + 128] == 255).all()  # 0.5: the white middle
    assert (px[y0 + 64:y0 + 128, x0 + 64:x0 + 128] == [255, 0, 255]).all()
    # The bare writer keeps one pixel per value.
    bare = tmp_path / "b.png"
    axial.io.write_heatmap(bare, values, 0.0, 1.0, "blue_white_red")
    assert read_png_rgb(bare).shape == (2, 2, 3)
    with pytest.raises(axial.InvalidArgumentError, match="32767"):
        axial.io.write_figure(tmp_path / "tall.png", np.zeros((40000, 1), np.float32))
    assert not (tmp_path / "tall.png").exists()


def test_arrays_are_views_that_keep_the_c_memory(store, data_dir):
    import gc

    f = axial.io.read_chain(store, "FAM69B")
    msa = f["msa"]
    del f
    gc.collect()
    junk = [np.full(431 * 59, -1, np.int32) for _ in range(20)]  # reuse freed memory, if it were freed
    rows = a3m_rows(data_dir / "query.a3m")
    np.testing.assert_array_equal(msa, [[msa_token(c) for c in letters] for letters, _ in rows])
    del junk

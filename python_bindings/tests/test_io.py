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
    for bad in (-1, 10):
        with pytest.raises(axial.InvalidArgumentError, match="compress_msa"):
            axial.io.write_chain(tmp_path / "bad.h5", "q", a, compress_msa=bad)
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


def test_plot_writes_png(tmp_path, store):
    path = tmp_path / "d.png"
    values = axial.io.plot(store, "1cbs_A", "distance", path)
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert (width, height) == (137, 137) == values.shape
    msa = axial.io.plot(store, "FAM69B", "msa")
    assert msa.shape == (59, 431)
    with pytest.raises(axial.InvalidArgumentError, match="no structure"):
        axial.io.plot(store, "FAM69B", "contact")
    rgb = axial.io.render_heatmap(np.array([[0.0, 1.0]], np.float32), 0.0, 1.0, "grays")
    np.testing.assert_array_equal(rgb, [[[0, 0, 0], [255, 255, 255]]])


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

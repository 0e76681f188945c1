"""Protein data for Axial: parse alignments and structures into AlphaFold-style chain features, keep
them in the HDF5 feature store, make training batches and draw maps (``features.h``, ``store.h``,
``figures.h``). File and HDF5 work runs with the GIL released. Conventions: docs/features.md and
docs/feature-store.md in the repository.

Features and batches are dicts of NumPy arrays; those read from C objects are views of the C
memory (no copy), kept alive by the arrays themselves.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _axial
from ._tensor import host_array
from .errors import InvalidArgumentError, _integer

__all__ = [
    "Store", "build_features", "features_from_sequence", "write_chain", "list_chains", "read_chain", "make_batch",
    "batch_from_features", "msa_identity_map", "ca_distance_map", "contact_map", "plot", "write_figure",
    "write_heatmap", "render_heatmap", "COLORMAPS",
]

PathLike = Union[str, "os.PathLike[str]"]
COLORMAPS = {"viridis": 0, "grays": 1, "blue_white_red": 2}
_FEATURE_ARRAYS = ("aatype", "residue_index", "msa", "deletion_matrix", "all_atom_positions", "all_atom_mask")


def _features_dict(capsule: Any) -> Dict[str, Any]:
    raw = _axial.features_arrays(capsule)
    out: Dict[str, Any] = {}
    for key, value in raw.items():
        if key in _FEATURE_ARRAYS:
            out[key] = None if value is None else host_array(capsule, value[0], value[1], value[2])
        else:
            out[key] = value
    return out


def _int32_array(features: Dict[str, Any], key: str) -> np.ndarray:
    """features[key] as int32, refusing what the cast would change (NumPy's would floor 0.7 and wrap
    2**32 + 5 to 5, which had then been written or batched as valid data)."""
    a = np.asarray(features[key])
    if a.dtype.kind not in "iub":
        if a.dtype.kind != "f" or not np.all(np.isfinite(a)) or not np.array_equal(a, np.trunc(a)):
            raise InvalidArgumentError(f"features[{key!r}]: expected integers, got dtype {a.dtype}", 1)
    if a.size and (a.min() < np.iinfo(np.int32).min or a.max() > np.iinfo(np.int32).max):
        raise InvalidArgumentError(f"features[{key!r}]: values outside int32 ({a.min()}..{a.max()})", 1)
    return np.ascontiguousarray(a, np.int32)


def _features_capsule(features: Dict[str, Any]) -> Any:
    """A C feature set from a features dict (a copy), for the functions that take one."""
    try:
        return _axial.features_from_arrays(
            str(features["sequence"]),
            _int32_array(features, "aatype"),
            _int32_array(features, "residue_index"),
            _int32_array(features, "msa"),
            _int32_array(features, "deletion_matrix"),
            None if features.get("all_atom_positions") is None
            else np.ascontiguousarray(features["all_atom_positions"], np.float32),
            None if features.get("all_atom_mask") is None
            else np.ascontiguousarray(features["all_atom_mask"], np.float32),
            float(features.get("resolution", 0.0) or 0.0))
    except KeyError as missing:
        raise InvalidArgumentError(f"features: missing key {missing}", 1) from None


class Store:
    """An open HDF5 feature store (read-only), for reading many chains without reopening the file.
    Usable as a context manager. Use one Store per thread (HDF5 calls are serialised anyway)."""

    def __init__(self, path: PathLike) -> None:
        self.path = os.fspath(path)
        self._capsule: Any = _axial.store_open(self.path)

    def chains(self) -> List[str]:
        """Chain names, sorted."""
        return _axial.store_chains(self._handle())

    def info(self, name: str) -> Dict[str, Any]:
        """``{name, seq_length, num_alignments, has_structure, resolution, sources}`` of one chain,
        without reading its arrays."""
        return _axial.store_chain_info(self._handle(), name)

    def read_chain(self, name: str) -> Dict[str, Any]:
        """One chain's features (see :func:`read_chain`)."""
        return _features_dict(_axial.store_read_chain(self._handle(), name))

    def _handle(self) -> Any:
        # a closed store says so (it had been "store: expected axial._axial.store")
        if self._capsule is None:
            raise InvalidArgumentError(f"store: {self.path} is closed (Store.close was called)", 1)
        return self._capsule

    def close(self) -> None:
        """Closes the file (also done when the object is garbage-collected)."""
        self._capsule = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _open(store: Union[PathLike, Store]) -> Store:
    return store if isinstance(store, Store) else Store(store)


def _paths(value: Union[PathLike, Sequence[PathLike], None]) -> List[str]:
    if value is None:
        return []
    if isinstance(value, (str, bytes, os.PathLike)):
        return [os.fspath(value)]
    return [os.fspath(p) for p in value]


_MSA_SUFFIXES = ((".a3m", "a3m"), (".sto", "sto"), (".stockholm", "sto"))


def _msa_kind(value: Union[PathLike, Tuple[str, PathLike]], i: int) -> Tuple[str, str]:
    """(kind, path) of one entry of ``msas``: a (kind, path) pair, or a path whose name says its format."""
    if isinstance(value, tuple):
        if len(value) != 2 or value[0] not in ("a3m", "sto"):
            raise InvalidArgumentError(f"msas[{i}]: expected ('a3m' or 'sto', path), got {value!r}", 1)
        return value[0], os.fsdecode(value[1])
    path = os.fsdecode(value)
    name = path.lower()[:-3] if path.lower().endswith(".gz") else path.lower()
    for suffix, kind in _MSA_SUFFIXES:
        if name.endswith(suffix):
            return kind, path
    raise InvalidArgumentError(f"msas[{i}]: cannot tell the format of {path!r} from its name (.a3m, .sto or "
                               ".stockholm, optionally .gz); give ('a3m', path) or ('sto', path)", 1)


def build_features(*, a3m: Union[PathLike, Sequence[PathLike], None] = None,
                   sto: Union[PathLike, Sequence[PathLike], None] = None,
                   msas: Optional[Sequence[Union[PathLike, Tuple[str, PathLike]]]] = None,
                   fasta: Optional[PathLike] = None, mmcif: Optional[PathLike] = None,
                   pdb: Optional[PathLike] = None, chain: Optional[str] = None,
                   store: Optional[PathLike] = None, name: Optional[str] = None,
                   replace: bool = False, compress_msa: int = 0, dedup: bool = True) -> Dict[str, Any]:
    """Parses alignments and/or a structure into one chain's features, as ``axial features build``.

    ``a3m`` and ``sto`` each take one path or a list of paths: MSAs of the same query, merged in
    order (the ``a3m`` files, then the ``sto`` files; the first one's query is row 0) by
    ``ax_chain_features_from_msas``. ``msas`` takes them in any order instead, each a path named
    .a3m / .sto / .stockholm (optionally .gz) or an ``('a3m' | 'sto', path)`` pair; the order
    matters, since a repeated row keeps its first occurrence's deletions: AlphaFold's pipeline merges
    ``msas=[uniref90.sto, bfd.a3m, mgnify.sto]``, which ``a3m=``/``sto=`` cannot express (as the
    CLI's --sto/--a3m options, given in that order, can). With ``dedup`` (the default) a row whose
    aligned letters repeat an earlier row, in the same MSA or an earlier one, is dropped as AlphaFold
    does, one MSA or several; ``dedup=False`` keeps every row. Give at most one structure (``mmcif`` or ``pdb``, with
    ``chain`` = author chain id; default the first protein chain: DNA and RNA chains are skipped
    and refused by name), or a ``fasta`` (its first record). Files may be gzip-compressed. With a
    structure and an MSA, the first MSA's query must match the chain.

    With ``store`` and ``name`` the chain is also added to that HDF5 store (created if missing; kept
    chains are copied, the write is atomic; ``replace=True`` starts a new store). ``compress_msa``
    1..9 deflates the stored MSA at that level (about 3x smaller, batches about 3x slower to read);
    0 stores it uncompressed (docs/feature-store.md).

    Returns:
        The features dict (see :func:`read_chain`).

    Raises:
        FileError: a file cannot be opened. FormatError: malformed content (file:line:column: reason).
        InvalidArgumentError: bad combinations, a missing chain, a query/chain mismatch, a bad name.
    """
    if msas is not None and (a3m is not None or sto is not None):
        raise InvalidArgumentError("build_features: give msas, or a3m and sto, not both", 1)
    if msas is not None and isinstance(msas, (str, bytes, os.PathLike, tuple)):
        raise InvalidArgumentError("msas: expected a list of MSAs (paths or (kind, path) pairs)", 1)
    if msas is not None:
        msa_paths = [_msa_kind(m, i) for i, m in enumerate(msas)]
    else:
        msa_paths = [("a3m", p) for p in _paths(a3m)] + [("sto", p) for p in _paths(sto)]
    if mmcif is not None and pdb is not None:
        raise InvalidArgumentError("build_features: give one structure (mmcif or pdb), not both", 1)
    if fasta is not None and (msa_paths or mmcif is not None or pdb is not None):
        raise InvalidArgumentError("build_features: a fasta goes alone (without an MSA or a structure)", 1)
    if (store is None) != (name is None):
        raise InvalidArgumentError("build_features: store and name go together", 1)
    st_kind, st_path = ("pdb", pdb) if pdb is not None else ("mmcif", mmcif)
    capsule, chain_id = _axial.features_build(
        msa_paths, st_kind if st_path is not None else None, None if st_path is None else os.fspath(st_path), chain,
        None if fasta is None else os.fspath(fasta), bool(dedup))
    if store is not None:
        sources = " ".join([p for _, p in msa_paths] + ([os.fspath(fasta)] if fasta is not None else []))
        if st_path is not None:
            sources = (sources + " " if sources else "") + f"{os.fspath(st_path)}:{chain_id}"
        _axial.store_write(os.fspath(store), not replace, [(name, capsule, sources)], compress_msa)
    return _features_dict(capsule)


def features_from_sequence(sequence: str) -> Dict[str, Any]:
    """Features of a bare sequence (``ax_chain_features_from_sequence``): a one-row MSA, no structure.
    Raises InvalidArgumentError for an empty sequence or a character that is not a letter."""
    return _features_dict(_axial.features_from_sequence(sequence))


def write_chain(store: PathLike, name: str, features: Dict[str, Any], *, sources: Optional[str] = None,
                replace: bool = False, compress_msa: int = 0) -> None:
    """Adds a features dict as chain ``name`` to an HDF5 store (atomic; existing chains kept unless
    ``replace``; ``compress_msa`` as in :func:`build_features`). Raises InvalidArgumentError for a
    bad or duplicate name, inconsistent arrays or a compress_msa outside 0..9."""
    _axial.store_write(os.fspath(store), not replace, [(name, _features_capsule(features), sources)],
                       compress_msa)


def list_chains(store: Union[PathLike, Store]) -> List[Dict[str, Any]]:
    """Every chain's summary (name, seq_length, num_alignments, has_structure, resolution, sources)."""
    s = _open(store)
    return [s.info(name) for name in s.chains()]


def read_chain(store: Union[PathLike, Store], name: str) -> Dict[str, Any]:
    """Reads one chain of an HDF5 feature store (validated against the schema).

    Returns:
        dict with ``sequence`` (str), ``seq_length`` L, ``num_alignments`` N, ``aatype`` int32 (L),
        ``residue_index`` int32 (L), ``msa`` int32 (N, L), ``deletion_matrix`` int32 (N, L),
        ``all_atom_positions`` float32 (L, 37, 3) and ``all_atom_mask`` float32 (L, 37) (None
        without a structure), ``resolution`` (Å, 0 when unknown).

    Raises:
        FileError, FormatError: the store cannot be read; InvalidArgumentError: no such chain.
    """
    return _open(store).read_chain(name)


def _batch_dict(capsule: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in _axial.batch_arrays(capsule).items():
        if isinstance(value, tuple):
            out[key] = host_array(capsule, value[0], value[1], value[2])
        else:
            out[key] = value
    return out


def batch_from_features(features: Dict[str, Any], *, crop: int = 256, msa_clusters: int = 128,
                        extra_msa: int = 1024, seed: int = 0, masked_msa_fraction: float = 0.15,
                        uniform_prob: float = 0.1, profile_prob: float = 0.1, same_prob: float = 0.1
                        ) -> Dict[str, Any]:
    """A training batch from a features dict (see :func:`make_batch`)."""
    capsule = _features_capsule(features)
    return _batch_dict(_axial.batch_create(capsule, _integer("seed", seed), _integer("crop", crop),
                                           _integer("msa_clusters", msa_clusters), _integer("extra_msa", extra_msa),
                                           float(masked_msa_fraction), float(uniform_prob), float(profile_prob),
                                           float(same_prob)))


def make_batch(store: Union[PathLike, Store], name: str, *, crop: int = 256, msa_clusters: int = 128,
               extra_msa: int = 1024, seed: int = 0, masked_msa_fraction: float = 0.15, uniform_prob: float = 0.1,
               profile_prob: float = 0.1, same_prob: float = 0.1) -> Dict[str, Any]:
    """An AlphaFold2-style training batch of one stored chain: crop to ``crop`` residues (<= 0 keeps
    all), sample ``msa_clusters`` cluster centres and ``extra_msa`` extra rows, BERT-mask the centres,
    assign and summarise clusters. The same seed gives the same batch. Reads only the crop's MSA
    columns from the store (``ax_store_read_batch``); the batch is the one
    :func:`batch_from_features` makes from :func:`read_chain`'s features, byte for byte.

    Returns:
        dict of NumPy arrays: ``aatype`` (L), ``residue_index`` (L), ``target_feat`` (L, 22), ``msa``,
        ``true_msa``, ``bert_mask``, ``deletion_matrix`` (C, L), ``cluster_profile`` (C, L, 23),
        ``cluster_deletion_mean`` (C, L), ``msa_feat`` (C, L, 49), ``extra_msa``,
        ``extra_has_deletion``, ``extra_deletion_value`` (E, L), ``msa_row`` (C + R),
        ``cluster_assignment`` (R), ``all_atom_positions``/``all_atom_mask`` (None without a
        structure), and ints ``num_res``, ``crop_start``, ``num_clusters``, ``num_extra``,
        ``num_remaining``.

    Raises:
        InvalidArgumentError: no such chain; bad sizes or probabilities (the message names the field).
        FileError, FormatError: the store cannot be read, or the chain's data is malformed or corrupt.
    """
    s = _open(store)
    return _batch_dict(_axial.store_read_batch(s._handle(), name, _integer("seed", seed), _integer("crop", crop),
                                               _integer("msa_clusters", msa_clusters),
                                               _integer("extra_msa", extra_msa), float(masked_msa_fraction),
                                               float(uniform_prob),
                                               float(profile_prob), float(same_prob)))


def _map(kind: int, features: Dict[str, Any], cutoff: float = 8.0) -> np.ndarray:
    capsule = _features_capsule(features)
    rows = int(np.shape(features["msa"])[0]) if kind == 0 else len(features["sequence"])
    out = np.empty((rows, len(features["sequence"])), np.float32)
    _axial.feature_map(kind, capsule, float(cutoff), out)
    return out


def msa_identity_map(features: Dict[str, Any]) -> np.ndarray:
    """(N, L) float32: 1 where a row has the query's token, 0.5 another residue, 0 a gap."""
    return _map(0, features)


def ca_distance_map(features: Dict[str, Any]) -> np.ndarray:
    """(L, L) float32 Cα–Cα distances in Å, NaN where a Cα is missing. Needs a structure."""
    return _map(1, features)


def contact_map(features: Dict[str, Any], cutoff: float = 8.0) -> np.ndarray:
    """(L, L) float32: 1 where the Cα distance is below ``cutoff`` Å, 0 above, NaN unknown."""
    return _map(2, features, cutoff)


def write_figure(path: PathLike, values: Any, vmin: Optional[float] = None, vmax: Optional[float] = None,
                 cmap: str = "viridis", *, title: Optional[str] = None, x_label: Optional[str] = None,
                 y_label: Optional[str] = None, value_label: Optional[str] = None, x_first: int = 0,
                 y_first: int = 0) -> None:
    """Writes a 2-D matrix as a figure a person can read (``ax_png_write_figure``): cells scaled up to
    whole pixels, the title, ticks numbered from ``x_first``/``y_first`` with the axis labels, and a
    colour bar with its values and ``value_label`` (meaning and unit, e.g. ``"distance (Å)"``).
    Atomic write, deterministic bytes. vmin/vmax default to the finite range.

    Raises:
        InvalidArgumentError: bad values, range, colour map, or a figure above 32767 pixels a side.
        FileError: the file cannot be written.
    """
    values = np.ascontiguousarray(values, np.float32)
    lo, hi = _axial.heatmap_range(values) if vmin is None or vmax is None else (vmin, vmax)
    _axial.png_write_figure(os.fspath(path), values, float(lo if vmin is None else vmin),
                            float(hi if vmax is None else vmax), _cmap(cmap), title, x_label, y_label, value_label,
                            int(x_first), int(y_first))


def write_heatmap(path: PathLike, values: Any, vmin: Optional[float] = None, vmax: Optional[float] = None,
                  cmap: str = "viridis") -> None:
    """Writes a 2-D matrix as a bare PNG (one pixel per value, no text: raw data for other tools;
    atomic write, ``ax_png_write_heatmap``). :func:`write_figure` draws the labelled figure.
    vmin/vmax default to the finite range. cmap: viridis, grays or blue_white_red."""
    values = np.ascontiguousarray(values, np.float32)
    lo, hi = _axial.heatmap_range(values) if vmin is None or vmax is None else (vmin, vmax)
    _axial.png_write_heatmap(os.fspath(path), values, float(lo if vmin is None else vmin),
                             float(hi if vmax is None else vmax), _cmap(cmap))


def render_heatmap(values: Any, vmin: Optional[float] = None, vmax: Optional[float] = None,
                   cmap: str = "viridis") -> np.ndarray:
    """The (rows, cols, 3) uint8 RGB pixels :func:`write_heatmap` would write."""
    values = np.ascontiguousarray(values, np.float32)
    lo, hi = _axial.heatmap_range(values)
    out = np.empty(values.shape + (3,), np.uint8)
    _axial.heatmap_render_rgb(values, float(lo if vmin is None else vmin), float(hi if vmax is None else vmax),
                              _cmap(cmap), out)
    return out


def _cmap(name: str) -> int:
    if name not in COLORMAPS:
        raise InvalidArgumentError(f"cmap: {name!r} is not one of {sorted(COLORMAPS)}", 1)
    return COLORMAPS[name]


def plot(store: Union[PathLike, Store], name: str, kind: str = "msa", path: Optional[PathLike] = None,
         *, cutoff: float = 8.0) -> np.ndarray:
    """The map ``axial features plot`` draws for a stored chain: ``kind`` is ``"msa"`` (identity
    map, viridis 0..1), ``"distance"`` (Cα distances, viridis over their range) or ``"contact"``
    (grays). With ``path`` the labelled figure (title with the chain's name, residue numbers, colour
    bar with units; ``ax_png_write_chain_map``) is written there. Returns the matrix (for matplotlib).

    Raises:
        InvalidArgumentError: unknown kind, or a distance/contact map of a chain without a structure.
    """
    kinds = {"msa": 0, "distance": 1, "contact": 2}
    if kind not in kinds:
        raise InvalidArgumentError(f"kind: {kind!r} is not msa, distance or contact", 1)
    features = read_chain(store, name)
    if kind != "msa" and features["all_atom_positions"] is None:
        raise InvalidArgumentError(f"chain {name} has no structure to draw a {kind} map from", 1)
    values = _map(kinds[kind], features, cutoff)
    if path is not None:
        _axial.png_write_chain_map(os.fspath(path), _features_capsule(features), name, kinds[kind], float(cutoff))
    return values

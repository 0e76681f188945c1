import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

PathLike = Union[str, "os.PathLike[str]"]
COLORMAPS: Dict[str, int]

class Store:
    """An open HDF5 feature store (read-only)."""
    path: str
    def __init__(self, path: PathLike) -> None: ...
    def chains(self) -> List[str]: ...
    def info(self, name: str) -> Dict[str, Any]: ...
    def read_chain(self, name: str) -> Dict[str, Any]: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Store": ...
    def __exit__(self, *exc: Any) -> None: ...

def build_features(*, a3m: Union[PathLike, Sequence[PathLike], None] = None,
                   sto: Union[PathLike, Sequence[PathLike], None] = None,
                   msas: Optional[Sequence[Union[PathLike, Tuple[str, PathLike]]]] = None,
                   fasta: Optional[PathLike] = None, mmcif: Optional[PathLike] = None,
                   pdb: Optional[PathLike] = None, chain: Optional[str] = None,
                   store: Optional[PathLike] = None, name: Optional[str] = None,
                   replace: bool = False, compress_msa: int = 0, dedup: bool = True) -> Dict[str, Any]:
    """Parse MSAs (merged, duplicate rows dropped unless dedup=False) and/or a structure into chain
    features; optionally add them to a store."""
def features_from_sequence(sequence: str) -> Dict[str, Any]:
    """Features of a bare sequence."""
def write_chain(store: PathLike, name: str, features: Dict[str, Any], *, sources: Optional[str] = None,
                replace: bool = False, compress_msa: int = 0) -> None:
    """Add a features dict to a store."""
def list_chains(store: Union[PathLike, Store]) -> List[Dict[str, Any]]:
    """Every chain's summary."""
def read_chain(store: Union[PathLike, Store], name: str) -> Dict[str, Any]:
    """One chain's features as NumPy arrays."""
def batch_from_features(features: Dict[str, Any], *, crop: int = 256, msa_clusters: int = 128,
                        extra_msa: int = 1024, seed: int = 0, masked_msa_fraction: float = 0.15,
                        uniform_prob: float = 0.1, profile_prob: float = 0.1, same_prob: float = 0.1
                        ) -> Dict[str, Any]:
    """A training batch from a features dict."""
def make_batch(store: Union[PathLike, Store], name: str, *, crop: int = 256, msa_clusters: int = 128,
               extra_msa: int = 1024, seed: int = 0, masked_msa_fraction: float = 0.15, uniform_prob: float = 0.1,
               profile_prob: float = 0.1, same_prob: float = 0.1) -> Dict[str, Any]:
    """An AlphaFold2-style training batch of one stored chain."""
def msa_identity_map(features: Dict[str, Any]) -> np.ndarray:
    """(N, L) identity/coverage map."""
def ca_distance_map(features: Dict[str, Any]) -> np.ndarray:
    """(L, L) Cα distances."""
def contact_map(features: Dict[str, Any], cutoff: float = 8.0) -> np.ndarray:
    """(L, L) contacts."""
def write_figure(path: PathLike, values: Any, vmin: Optional[float] = None, vmax: Optional[float] = None,
                 cmap: str = "viridis", *, title: Optional[str] = None, x_label: Optional[str] = None,
                 y_label: Optional[str] = None, value_label: Optional[str] = None, x_first: int = 0,
                 y_first: int = 0) -> None:
    """Write a matrix as a labelled figure (title, axes, colour bar) PNG."""
def write_heatmap(path: PathLike, values: Any, vmin: Optional[float] = None, vmax: Optional[float] = None,
                  cmap: str = "viridis") -> None:
    """Write a matrix as a bare PNG, one pixel per value."""
def render_heatmap(values: Any, vmin: Optional[float] = None, vmax: Optional[float] = None,
                   cmap: str = "viridis") -> np.ndarray:
    """RGB pixels of a heatmap."""
def plot(store: Union[PathLike, Store], name: str, kind: str = "msa", path: Optional[PathLike] = None,
         *, cutoff: float = 8.0) -> np.ndarray:
    """The msa/distance/contact map of a stored chain; a labelled PNG figure with path."""

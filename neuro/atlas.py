"""A DMN atlas of spheres from coordinates nilearn ships (no download), and user ROIs.

The paper's nodes (Dohmatob, Dumas & Bzdok 2020, Figure 4) as spheres around published MNI
coordinates read from nilearn's package data (``fetch_coords_dosenbach_2010`` and
``fetch_coords_seitzman_2018`` read CSV/TXT files bundled with nilearn; they never touch the
network):

| region | node  | MNI (mm)               | source entry (label, network) |
|--------|-------|------------------------|----------|
| PMC    | PMC   | (5, -50, 33)           | Dosenbach 2010 "precuneus 105", default |
| dmPFC  | dmPFC | (0, 51, 32)            | Dosenbach 2010 "mPFC 4", default (BA9) |
| vmPFC  | vmPFC | (6, 64, 3)             | Dosenbach 2010 "vmPFC 1", default (BA10) |
| rTPJ   | rTPJ  | (51, -59, 34)          | Dosenbach 2010 "angular gyrus 117", default |
| lTPJ   | lTPJ  | (-48, -63, 35)         | Dosenbach 2010 "angular gyrus 124", default |
| lHPC   | HPC   | (-25.24, -38.78, -2.01)| Seitzman 2018, DefaultMode network, hippocampus, left |
| rHPC   | HPC   | (25.08, -37.18, -2.16) | Seitzman 2018, DefaultMode network, hippocampus, right |
| lNAcc  | NAcc  | (-12.49, 17.05, -4.49) | Seitzman 2018, Reward network, basal ganglia, left |
| rNAcc  | NAcc  | (12.66, 17.32, -5.06)  | Seitzman 2018, Reward network, basal ganglia, right |

Why these: the cortical nodes are the default-network entries of Dosenbach whose anatomical
label names the paper's region (BA10 frontal pole for vmPFC, medial BA9 for dmPFC, the
precuneus/posterior-cingulate for PMC, the angular gyrus, the DMN's posterior TPJ, for the
TPJs). Dosenbach has no hippocampus or accumbens; Seitzman adds functionally defined
subcortical ROIs: its two hippocampal ROIs assigned to the DefaultMode network (the DMN's
medial-temporal subsystem; ``hippocampus="MedialTemporalLobe"`` picks the anterior pair at
y = -11 instead) and the two basal-ganglia ROIs of its Reward network, which lie in the
ventral striatum / nucleus accumbens.

References: Dosenbach et al. (2010) "Prediction of individual brain maturity using fMRI",
Science 329(5997):1358-1361. Seitzman et al. (2020) "A set of functionally-defined brain
regions with improved representation of the subcortex and cerebellum", NeuroImage 206:116290
(online 2019; nilearn calls it seitzman_2018).

A sphere on a target grid is the set of voxels whose centre lies within ``radius`` mm of the
coordinate, plus the voxel nearest the coordinate (so a small radius never gives an empty ROI,
as nilearn's NiftiSpheresMasker does). Overlapping spheres raise ``ValueError``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

DOSENBACH = (
    "Dosenbach et al. (2010) Prediction of individual brain maturity using fMRI. "
    "Science 329(5997):1358-1361"
)
SEITZMAN = (
    "Seitzman et al. (2020) A set of functionally-defined brain regions with improved "
    "representation of the subcortex and cerebellum. NeuroImage 206:116290"
)
# region -> (RegionMap node, Dosenbach label, expected network)
_DOSENBACH_PICKS = {
    "PMC": ("PMC", "precuneus 105", "default"),
    "dmPFC": ("dmPFC", "mPFC 4", "default"),
    "vmPFC": ("vmPFC", "vmPFC 1", "default"),
    "rTPJ": ("rTPJ", "angular gyrus 117", "default"),
    "lTPJ": ("lTPJ", "angular gyrus 124", "default"),
}
# region -> (node, Seitzman network, Seitzman anatomical region, hemisphere sign of x)
_SEITZMAN_PICKS = {
    "lHPC": ("HPC", None, "hippocampus", -1),
    "rHPC": ("HPC", None, "hippocampus", +1),
    "lNAcc": ("NAcc", "Reward", "basalGanglia", -1),
    "rNAcc": ("NAcc", "Reward", "basalGanglia", +1),
}
HIPPOCAMPUS_NETWORKS = ("DefaultMode", "MedialTemporalLobe")
REGION_TO_NODE = {
    **{r: v[0] for r, v in _DOSENBACH_PICKS.items()},
    **{r: v[0] for r, v in _SEITZMAN_PICKS.items()},
}
LEVELS = ("node", "region")


def dmn_coordinates(hippocampus: str = "DefaultMode") -> pd.DataFrame:
    """The nine DMN regions: ``region, node, x, y, z, source, citation`` (MNI mm).

    Read from nilearn's bundled coordinate files and checked against the expected labels, so a
    change in nilearn's data raises instead of silently moving a node.
    """
    from nilearn import datasets

    if hippocampus not in HIPPOCAMPUS_NETWORKS:
        raise ValueError(f"hippocampus must be one of {HIPPOCAMPUS_NETWORKS}, got {hippocampus!r}")
    rows = []
    d = datasets.fetch_coords_dosenbach_2010(ordered_regions=False)
    dos = d.rois.reset_index(drop=True)
    labels, networks = list(d.labels), list(d.networks)
    for region, (node, label, network) in _DOSENBACH_PICKS.items():
        hits = [i for i, lab in enumerate(labels) if lab == label]
        if len(hits) != 1 or networks[hits[0]] != network:
            raise RuntimeError(f"nilearn's Dosenbach 2010 data has no unique {label!r} ({network})")
        x, y, z = (float(v) for v in dos.loc[hits[0], ["x", "y", "z"]])
        rows.append((region, node, x, y, z, f"Dosenbach 2010 '{label}' ({network})", DOSENBACH))
    s = datasets.fetch_coords_seitzman_2018(ordered_regions=False)
    sz = s.rois.reset_index(drop=True)
    nets, regs = np.asarray(s.networks), np.asarray(s.regions)
    for region, (node, network, anat, sign) in _SEITZMAN_PICKS.items():
        network = network or hippocampus
        hits = np.flatnonzero(
            (nets == network) & (regs == anat) & (np.sign(sz["x"].to_numpy()) == sign)
        )
        if len(hits) != 1:
            raise RuntimeError(
                f"nilearn's Seitzman 2018 data has {len(hits)} {network}/{anat} ROIs with x "
                f"sign {sign}, expected 1"
            )
        x, y, z = (float(v) for v in sz.loc[hits[0], ["x", "y", "z"]])
        side = "left" if sign < 0 else "right"
        rows.append(
            (region, node, x, y, z, f"Seitzman 2018 #{hits[0]} {network}, {anat}, {side}", SEITZMAN)
        )
    return pd.DataFrame(rows, columns=["region", "node", "x", "y", "z", "source", "citation"])


@dataclass
class Atlas:
    """Labelled ROIs on an image grid: label k (1-based) is ``names[k-1]``."""

    labels_img: object  # Nifti1Image of int labels, 0 = background
    names: tuple[str, ...]  # ROI name of each label
    table: pd.DataFrame  # per ROI: name, n_voxels, coordinates/sources when known

    def __post_init__(self) -> None:
        data = np.asarray(self.labels_img.dataobj)
        present = set(np.unique(data).astype(int)) - {0}
        expected = set(range(1, len(self.names) + 1))
        if present != expected:
            raise ValueError(
                f"labels image has labels {sorted(present)}, expected 1..{len(self.names)} for "
                f"names {list(self.names)} (empty ROI: "
                f"{[self.names[k - 1] for k in sorted(expected - present)]})"
            )
        for name in self.names:
            if not str(name).isidentifier():
                raise ValueError(f"ROI name {name!r} is not an identifier")

    def mask(self, name: str):
        """Binary mask image of one ROI."""
        from nilearn.image import new_img_like

        if name not in self.names:
            raise KeyError(f"no ROI {name!r}; ROIs: {list(self.names)}")
        k = self.names.index(name) + 1
        data = np.asarray(self.labels_img.dataobj) == k
        return new_img_like(self.labels_img, data.astype(np.uint8))

    def masks(self) -> dict[str, object]:
        """``{name: binary mask image}``: the ROIs as a list of sphere masks."""
        return {n: self.mask(n) for n in self.names}

    def voxel_mask(self) -> np.ndarray:
        """Boolean array of voxels in any ROI."""
        return np.asarray(self.labels_img.dataobj) > 0


def _grid(target_img) -> tuple[np.ndarray, tuple[int, int, int]]:
    from nilearn.image import load_img

    img = load_img(target_img)
    return img.affine, tuple(img.shape[:3])


def _sphere(center, affine, shape, radius) -> np.ndarray:
    ijk = np.indices(shape).reshape(3, -1).T
    xyz = ijk @ affine[:3, :3].T + affine[:3, 3]
    d = np.linalg.norm(xyz - np.asarray(center, dtype=np.float64), axis=1)
    inside = d <= radius
    nearest = np.argmin(d)
    vox = np.linalg.inv(affine) @ np.r_[np.asarray(center, float), 1.0]
    if np.any(np.round(vox[:3]) < -0.5) or np.any(np.round(vox[:3]) > np.array(shape) - 0.5):
        raise ValueError(f"coordinate {tuple(center)} lies outside the image's field of view")
    inside[nearest] = True
    return inside.reshape(shape)


def atlas_from_coords(
    coords: Mapping[str, Sequence[float] | Sequence[Sequence[float]]],
    target_img,
    radius: float = 6.0,
    mask_img=None,
    info: pd.DataFrame | None = None,
) -> Atlas:
    """Spheres of ``radius`` mm around MNI coordinates, on ``target_img``'s grid.

    ``coords``: ``{name: (x, y, z)}`` or ``{name: [(x, y, z), (x, y, z)]}`` (one ROI made of
    several spheres, e.g. left + right hippocampus). ``mask_img`` (same grid) removes voxels
    outside the brain; an ROI left empty raises ``ValueError``.
    """
    if not np.isfinite(radius) or radius <= 0:
        raise ValueError(f"radius must be a positive number of mm, got {radius!r}")
    affine, shape = _grid(target_img)
    brain = None
    if mask_img is not None:
        maff, mshape = _grid(mask_img)
        if mshape != shape or not np.allclose(maff, affine, atol=1e-3):
            raise ValueError("mask_img must be on target_img's grid (same shape and affine)")
        from nilearn.image import load_img

        brain = np.asarray(load_img(mask_img).dataobj) > 0
    labels = np.zeros(shape, dtype=np.int16)
    rows = []
    for k, (name, spec) in enumerate(coords.items(), start=1):
        centers = np.atleast_2d(np.asarray(spec, dtype=np.float64))
        if centers.shape[1] != 3:
            raise ValueError(f"coordinates of {name!r} must be (x, y, z) triples, got {spec!r}")
        roi = np.zeros(shape, dtype=bool)
        for c in centers:
            roi |= _sphere(c, affine, shape, radius)
        if brain is not None:
            roi &= brain
        if not roi.any():
            raise ValueError(f"ROI {name!r} has no voxel inside the mask")
        clash = np.unique(labels[roi & (labels > 0)])
        if len(clash):
            other = [list(coords)[c - 1] for c in clash]
            raise ValueError(
                f"ROI {name!r} overlaps {other} at radius {radius} mm; use a smaller radius"
            )
        labels[roi] = k
        rows.append({"name": name, "n_voxels": int(roi.sum()), "centers": centers.tolist()})
    from nilearn.image import new_img_like

    img = new_img_like(target_img, labels, affine=affine, copy_header=False)
    table = pd.DataFrame(rows)
    if info is not None:
        table = table.merge(info, on="name", how="left")
    return Atlas(img, tuple(coords), table)


def dmn_atlas(
    target_img,
    radius: float = 6.0,
    level: str = "node",
    mask_img=None,
    nodes: Sequence[str] | None = None,
    hippocampus: str = "DefaultMode",
) -> Atlas:
    """The DMN atlas on ``target_img``'s grid (coordinates in MNI space, as the image must be).

    ``level="node"``: one label per RegionMap node (PMC, dmPFC, vmPFC, rTPJ, lTPJ, HPC = left +
    right hippocampus, NAcc = left + right accumbens); ``level="region"``: the nine spheres.
    ``nodes`` keeps a subset (node or region names, by level).
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    coords = dmn_coordinates(hippocampus)
    key = "node" if level == "node" else "region"
    spec: dict[str, list] = {}
    info_rows = []
    for name, grp in coords.groupby(key, sort=False):
        spec[name] = grp[["x", "y", "z"]].to_numpy().tolist()
        info_rows.append(
            {
                "name": name,
                "node": grp["node"].iloc[0],
                "regions": ",".join(grp["region"]),
                "source": "; ".join(grp["source"]),
                "citation": "; ".join(sorted(set(grp["citation"]))),
            }
        )
    if nodes is not None:
        unknown = sorted(set(nodes) - set(spec))
        if unknown:
            raise ValueError(f"unknown {level}s {unknown}; available: {list(spec)}")
        spec = {n: spec[n] for n in nodes}
    info = pd.DataFrame(info_rows)
    atlas = atlas_from_coords(spec, target_img, radius=radius, mask_img=mask_img, info=info)
    atlas.table["radius_mm"] = radius
    return atlas


def atlas_from_labels(labels_img, names: Sequence[str] | Mapping[int, str], target_img) -> Atlas:
    """A user label image (+ names) on ``target_img``'s grid.

    ``names``: a list (label k -> names[k-1]) or ``{label value: name}``. A label image on
    another grid is resampled with nearest-neighbour interpolation and a warning; a label that
    ends up with no voxel raises ``ValueError``.
    """
    from nilearn.image import load_img, new_img_like, resample_to_img

    img = load_img(labels_img)
    affine, shape = _grid(target_img)
    data = np.asarray(img.dataobj)
    if data.ndim != 3:
        raise ValueError(f"a label image is 3D, got shape {data.shape}")
    values = sorted(int(v) for v in set(np.unique(data).astype(int)) - {0})
    if isinstance(names, Mapping):
        mapping = {int(k): str(v) for k, v in names.items()}
    else:
        mapping = {k: str(v) for k, v in enumerate(names, start=1)}
    missing = sorted(set(mapping) - set(values))
    if missing:
        raise ValueError(f"label values {missing} ({[mapping[m] for m in missing]}) not in image")
    unnamed = sorted(set(values) - set(mapping))
    if unnamed:
        raise ValueError(
            f"the label image has labels {values} but {len(mapping)} name(s) were given "
            f"({list(mapping.values())}); labels {unnamed[:10]} have no name: give one name "
            "per label (label k -> k-th name)"
        )
    if tuple(img.shape[:3]) != shape or not np.allclose(img.affine, affine, atol=1e-3):
        warnings.warn(
            f"label image {img.shape[:3]} differs from the target grid {shape}; resampling "
            "it with nearest-neighbour interpolation",
            stacklevel=2,
        )
        img = resample_to_img(
            img, target_img, interpolation="nearest", force_resample=True, copy_header=True
        )
        data = np.asarray(img.dataobj)
    out = np.zeros(shape, dtype=np.int16)
    rows = []
    for k, (value, name) in enumerate(mapping.items(), start=1):
        roi = np.rint(data).astype(int) == value
        if not roi.any():
            raise ValueError(f"label {value} ({name!r}) has no voxel on the target grid")
        out[roi] = k
        rows.append({"name": name, "label_value": value, "n_voxels": int(roi.sum())})
    lab = new_img_like(target_img, out, affine=affine, copy_header=False)
    return Atlas(lab, tuple(mapping.values()), pd.DataFrame(rows))

"""MPI-INF-3DHP readers (Mehta et al., 3DV 2017): the test set (TS1-TS6) and the 2D of the training set.

Both give `Sequence`s in ambipose's Human3.6M 17-joint order (see `skeleton.JOINT_NAMES`):
- 2D: pixels in the original video frame (2048x2048, or 1920x1080 for TS5/TS6).
- 3D: camera frame (X right, Y down, Z forward: `annot3` reprojects onto `annot2`), millimetres.
  For the test set `poses_3d` holds `univ_annot3`, the pose rescaled to the Human3.6M "universal"
  skeleton height, which is what the benchmark scores; the metric `annot3` stays in `meta`.

File layouts (official release; docs/datasets.md has the directory trees):
- `root/TS{n}/annot_data.mat`: MATLAB v7.3, i.e. HDF5 behind a 512-byte MATLAB header. MATLAB
  writes arrays in column-major order, so h5py sees every axis reversed: `annot2` (2,17,1,T) in
  MATLAB is (T,1,17,2) here, `valid_frame` 1xT is (T,1). Both orientations are accepted, and so
  is the same file re-saved as MATLAB v5 (read with scipy, whose arrays are transposed to match).
- `root/S{i}/Seq{j}/annot.mat`: MATLAB v5; `annot2`/`annot3` are 14x1 cells (one per camera) of
  (T, 28*2) / (T, 28*3) rows `x1 y1 x2 y2 ...`; `cameras` names the camera of each cell.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .sequence import Sequence
from .skeleton import NUM_JOINTS

# ---------------------------------------------------------------------------------------------
# Joint sets
# ---------------------------------------------------------------------------------------------

# The 28 joints of the training annotations (mpii_get_joint_set('all'), 0-based here).
TRAIN28_JOINT_NAMES: tuple[str, ...] = (
    "spine3", "spine4", "spine2", "spine", "pelvis", "neck", "head", "head_top",
    "left_clavicle", "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_clavicle", "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot", "left_toe",
    "right_hip", "right_knee", "right_ankle", "right_foot", "right_toe",
)
# The 17 joints of the test annotations, in their order (mpii_get_joint_set('relevant')).
TEST17_JOINT_NAMES: tuple[str, ...] = (
    "head_top", "neck", "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle", "pelvis", "spine", "head",
)
# The 'relevant' subset: which of the 28 training joints the 17 test joints are.
TRAIN28_TO_TEST17 = np.array([7, 5, 14, 15, 16, 9, 10, 11, 23, 24, 25, 18, 19, 20, 4, 3, 6])

# ours[k] = theirs[MAP[k]]. The head chain follows Human3.6M's own naming (32-joint indices 13/14/15
# are thorax/neck-nose/head-top): Thorax(8) <- neck (base of the neck), Neck/Nose(9) <- head (centre
# of the head, the nearest 3DHP joint to H36M's nose-level joint), Head(10) <- head_top. With this
# choice the head-root length used by ambipose's scale protocols is head_top-pelvis in both datasets.
# Left/right are NOT swapped: the Human3.6M "R" joints lie on the subject's right (checked on the
# shared 3D: RHip-LHip points along forward x up in 99.98% of frames, forward = nose offset).
TEST17_TO_H36M17 = np.array([14, 8, 9, 10, 11, 12, 13, 15, 1, 16, 0, 5, 6, 7, 2, 3, 4])
TRAIN28_TO_H36M17 = TRAIN28_TO_TEST17[TEST17_TO_H36M17]  # = [4,23,24,25,18,19,20,3,5,6,7,9,10,11,14,15,16]

# ---------------------------------------------------------------------------------------------
# Test-set facts
# ---------------------------------------------------------------------------------------------

TEST_SEQUENCES: tuple[str, ...] = ("TS1", "TS2", "TS3", "TS4", "TS5", "TS6")
# Scene groups of the benchmark tables: green screen studio, studio without green screen, outdoor.
SCENE_GROUPS: dict[str, str] = {"TS1": "GS", "TS2": "GS", "TS3": "noGS", "TS4": "noGS",
                                "TS5": "outdoor", "TS6": "outdoor"}
SCENE_ORDER: tuple[str, ...] = ("GS", "noGS", "outdoor")
# activity_annotation values, named as the official mpii_get_activity_name.m.
ACTIVITY_NAMES: dict[int, str] = {1: "Standing/Walking", 2: "Exercising", 3: "Sitting",
                                  4: "Reaching/Crouching", 5: "On The Floor", 6: "Sports",
                                  7: "Miscellaneous"}
TEST_IMAGE_SIZE: dict[str, tuple[int, int]] = {  # (width, height) pixels
    "TS1": (2048, 2048), "TS2": (2048, 2048), "TS3": (2048, 2048), "TS4": (2048, 2048),
    "TS5": (1920, 1080), "TS6": (1920, 1080)}
# Focal lengths in pixels, as the official test_util (resolution / sensor width 10 mm * focal mm).
TEST_FOCAL_PX: dict[str, float] = {
    **{ts: 2048 / 10 * 7.320339203 for ts in ("TS1", "TS2", "TS3", "TS4")},
    **{ts: 1920 / 10 * 8.770747185 for ts in ("TS5", "TS6")}}
# Nominal frame rates (the .mat files carry none): studio 25 fps, outdoor 50 fps.
TEST_FPS: dict[str, float] = {"TS1": 25.0, "TS2": 25.0, "TS3": 25.0, "TS4": 25.0,
                              "TS5": 50.0, "TS6": 50.0}

# ---------------------------------------------------------------------------------------------
# Training-set facts
# ---------------------------------------------------------------------------------------------

TRAIN_SUBJECTS: tuple[str, ...] = ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8")
TRAIN_SEQS: tuple[str, ...] = ("Seq1", "Seq2")
# The 8 of the 14 cameras that public 3DHP training pipelines use (the rest include ceiling views).
TRAIN_CAMERAS: tuple[int, ...] = (0, 1, 2, 4, 5, 6, 7, 8)
# (frames in the videos, fps) per subject/sequence, as the official mpii_get_sequence_info. annot.mat
# may hold a few rows more than the video has frames; rows past this count are dropped.
TRAIN_SEQUENCE_INFO: dict[tuple[str, str], tuple[int, float]] = {
    ("S1", "Seq1"): (6416, 25.0), ("S1", "Seq2"): (12430, 50.0),
    ("S2", "Seq1"): (6502, 25.0), ("S2", "Seq2"): (6081, 25.0),
    ("S3", "Seq1"): (12488, 50.0), ("S3", "Seq2"): (12283, 50.0),
    ("S4", "Seq1"): (6171, 25.0), ("S4", "Seq2"): (6675, 25.0),
    ("S5", "Seq1"): (12820, 50.0), ("S5", "Seq2"): (12312, 50.0),
    ("S6", "Seq1"): (6188, 25.0), ("S6", "Seq2"): (6145, 25.0),
    ("S7", "Seq1"): (6239, 25.0), ("S7", "Seq2"): (6320, 25.0),
    ("S8", "Seq1"): (6468, 25.0), ("S8", "Seq2"): (6054, 25.0),
}
TRAIN_IMAGE_SIZE = (2048, 2048)  # every training camera
# Used only where camera.calibration is absent: ~ 2048 px / 10 mm sensor * 7.3 mm lens.
TRAIN_FOCAL_FALLBACK_PX = 1500.0

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------
# MAT-file access
# ---------------------------------------------------------------------------------------------

def _mat_format(path: Path) -> str:
    """'hdf5' (MATLAB v7.3, or plain HDF5), 'v5' (MATLAB 5.0 MAT-file) or raise InputError."""
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    with path.open("rb") as f:
        head = f.read(128)
        # HDF5 looks for its superblock at 0, 512, 1024, 2048...; MATLAB v7.3 puts it at 512.
        for offset in (0, 512, 1024, 2048):
            f.seek(offset)
            if f.read(8) == _HDF5_SIGNATURE:
                return "hdf5"
    if head.startswith(b"MATLAB 5.0 MAT-file"):
        return "v5"
    if not head:
        raise InputError(f"{path}: empty file, not a MATLAB MAT-file")
    raise InputError(f"{path}: not a MATLAB MAT-file (neither v7.3/HDF5 nor v5)")


def _read_hdf5_fields(path: Path, required: tuple[str, ...], optional: tuple[str, ...]) -> dict[str, np.ndarray]:
    import h5py

    out: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as f:
            present = sorted(k for k in f.keys() if not k.startswith("#"))
            for key in required + optional:
                if key not in f:
                    if key in required:
                        raise InputError(f"{path}: missing field '{key}' (fields present: {', '.join(present) or 'none'})")
                    continue
                obj = f[key]
                if not isinstance(obj, h5py.Dataset) or h5py.check_dtype(ref=obj.dtype) is not None:
                    raise InputError(f"{path}: field '{key}' is not a numeric array (a cell, struct or group)")
                out[key] = np.asarray(obj[()])
    except OSError as e:
        raise InputError(f"{path}: cannot be read as HDF5/MATLAB v7.3 ({e})") from None
    return out


def _read_v5_fields(path: Path, required: tuple[str, ...], optional: tuple[str, ...]) -> dict[str, Any]:
    import scipy.io

    try:
        data = scipy.io.loadmat(str(path), variable_names=list(required + optional))
    except Exception as e:  # scipy raises ValueError, TypeError, MatReadError... on corrupt files
        raise InputError(f"{path}: cannot be read as a MATLAB v5 MAT-file ({type(e).__name__}: {e})") from None
    for key in required:
        if key not in data:
            try:
                present = sorted(name for name, _, _ in scipy.io.whosmat(str(path)))
            except Exception:
                present = []
            raise InputError(f"{path}: missing field '{key}' (fields present: {', '.join(present) or 'none'})")
    return {k: data[k] for k in required + optional if k in data}


def _numeric(path: Path, key: str, arr: Any) -> np.ndarray:
    a = np.asarray(arr)
    if a.dtype.kind not in "fiub":
        raise InputError(f"{path}: field '{key}' is not a numeric array (dtype {a.dtype})")
    return a


def _as_poses(path: Path, key: str, arr: Any, dims: int, joints: int) -> np.ndarray:
    """Accept (T,1,J,D) / (T,J,D) (h5py view of MATLAB's D x J x 1 x T) or the transposed
    (D,J,1,T) / (D,J,T) that non-MATLAB writers produce; return (T, J, D) float64."""
    a = _numeric(path, key, arr)
    s = a.shape
    if a.ndim == 4 and s[1] == 1 and s[2:] == (joints, dims):
        a = a[:, 0]
    elif a.ndim == 3 and s[1:] == (joints, dims):
        pass
    elif a.ndim == 4 and s[:2] == (dims, joints) and s[2] == 1:
        a = a[:, :, 0].transpose(2, 1, 0)
    elif a.ndim == 3 and s[:2] == (dims, joints):
        a = a.transpose(2, 1, 0)
    else:
        raise InputError(f"{path}: '{key}' has shape {s}, expected (T, 1, {joints}, {dims}) "
                         f"as MATLAB v7.3 stores it, or (T, {joints}, {dims})")
    if len(a) == 0:
        raise InputError(f"{path}: '{key}' has no frames")
    return a.astype(np.float64)


def _as_vector(path: Path, key: str, arr: Any, n: int) -> np.ndarray:
    """(T,), (T,1) or (1,T) -> (T,); length must be n."""
    a = _numeric(path, key, arr)
    if a.ndim > 2 or (a.ndim == 2 and 1 not in a.shape):
        raise InputError(f"{path}: '{key}' has shape {a.shape}, expected a vector (T, 1) or (1, T)")
    a = a.reshape(-1)
    if len(a) != n:
        raise InputError(f"{path}: '{key}' has {len(a)} entries but the poses have {n} frames")
    if not np.isfinite(a.astype(np.float64)).all():
        raise InputError(f"{path}: '{key}' contains NaN or inf")
    return a


# ---------------------------------------------------------------------------------------------
# Test set
# ---------------------------------------------------------------------------------------------

def _test_root(root: str | Path | None) -> Path:
    if root is None:
        from ..settings import data_root

        root = data_root() / "mpi_inf_3dhp"
    root = Path(root).expanduser()
    # The official archive unpacks to mpi_inf_3dhp_test_set/TS1..TS6: accept its parent too.
    nested = root / "mpi_inf_3dhp_test_set"
    if not (root / "TS1").is_dir() and nested.is_dir():
        return nested
    return root


def read_3dhp_test_annotations(path: str | Path) -> dict[str, np.ndarray]:
    """Read one `annot_data.mat` in the dataset's own 17-joint order (`TEST17_JOINT_NAMES`).

    Returns `annot2` (T,17,2) pixels, `annot3` (T,17,3) and `univ_annot3` (T,17,3) camera-frame mm,
    `valid_frame` (T,) bool and `activity_annotation` (T,) int. Raises InputError on a missing
    file, a file that is not a MAT-file, a missing field or a field of the wrong shape.
    """
    path = Path(path)
    fields = ("annot2", "annot3", "univ_annot3", "valid_frame", "activity_annotation")
    fmt = _mat_format(path)
    if fmt == "hdf5":
        raw = _read_hdf5_fields(path, fields, ())
    else:
        # v5 arrays come in MATLAB's own order; reversing the axes gives the h5py view of v7.3.
        raw = {k: np.asarray(v).T for k, v in _read_v5_fields(path, fields, ()).items()}
    annot2 = _as_poses(path, "annot2", raw["annot2"], 2, 17)
    n = len(annot2)
    out = {"annot2": annot2}
    for key in ("annot3", "univ_annot3"):
        out[key] = _as_poses(path, key, raw[key], 3, 17)
        if len(out[key]) != n:
            raise InputError(f"{path}: '{key}' has {len(out[key])} frames but 'annot2' has {n}")
    out["valid_frame"] = _as_vector(path, "valid_frame", raw["valid_frame"], n) != 0
    activity = _as_vector(path, "activity_annotation", raw["activity_annotation"], n)
    out["activity_annotation"] = np.rint(activity.astype(np.float64)).astype(np.int64)
    valid = out["valid_frame"]
    for key in ("annot2", "univ_annot3"):
        bad = int((~np.isfinite(out[key][valid]).all(axis=(1, 2))).sum())
        if bad:
            raise InputError(f"{path}: '{key}' has NaN or inf coordinates in {bad} valid frames")
    return out


def load_3dhp_test(
    root: str | Path | None,
    sequences: tuple[str, ...] = TEST_SEQUENCES,
    valid_only: bool = True,
) -> list[Sequence]:
    """Read the MPI-INF-3DHP test set: `root/TS{n}/annot_data.mat` -> one `Sequence` per TS.

    root: the folder holding TS1..TS6 (or its parent holding `mpi_inf_3dhp_test_set/`); None means
      `$AMBIPOSE_DATA/mpi_inf_3dhp` (see `ambipose.settings`).
    valid_only: keep only frames with `valid_frame == 1` (2,929 over the six sequences), the frames
      the benchmark scores. With False every frame is kept, so temporal models see the video
      without gaps, and `evaluate_3dhp` still scores only the valid ones (`meta["valid"]`).

    Each Sequence: `poses_2d` (T,17,2) pixels; `poses_3d` (T,17,3) = `univ_annot3`, camera frame,
    mm, height-normalised; ambipose's 17-joint order (`TEST17_TO_H36M17`). `meta` holds `scene`
    ("GS", "noGS", "outdoor"), `activity` (T,) int 1..7 (`ACTIVITY_NAMES`), `valid` (T,) bool,
    `frame_index` (T,) 0-based frame of the video (image `img_{frame_index+1:06d}.jpg`), `annot3`
    (T,17,3) metric camera-frame mm, `source` (the file).
    """
    base = _test_root(root)
    out: list[Sequence] = []
    for name in sequences:
        if name not in SCENE_GROUPS:
            raise InputError(f"{base}: unknown test sequence '{name}' (expected one of {', '.join(TEST_SEQUENCES)})")
        path = base / name / "annot_data.mat"
        if not path.is_file():
            raise InputError(f"{path}: file not found (expected the test set layout ROOT/{name}/annot_data.mat)")
        a = read_3dhp_test_annotations(path)
        keep = a["valid_frame"] if valid_only else np.ones(len(a["annot2"]), dtype=bool)
        if not keep.any():
            raise InputError(f"{path}: no valid frames ('valid_frame' is all 0)")
        idx = np.flatnonzero(keep)
        w, h = TEST_IMAGE_SIZE[name]
        out.append(Sequence(
            subject=name, action=SCENE_GROUPS[name], camera="test",
            poses_2d=a["annot2"][idx][:, TEST17_TO_H36M17].astype(np.float32),
            poses_3d=a["univ_annot3"][idx][:, TEST17_TO_H36M17].astype(np.float32),
            fps=TEST_FPS[name], res_w=w, res_h=h, focal=float(TEST_FOCAL_PX[name]),
            meta={
                "dataset": "mpi_inf_3dhp", "split": "test", "scene": SCENE_GROUPS[name],
                "activity": a["activity_annotation"][idx], "valid": a["valid_frame"][idx],
                "frame_index": idx.astype(np.int64),
                "annot3": a["annot3"][idx][:, TEST17_TO_H36M17].astype(np.float32),
                "source": str(path),
            },
        ))
    return out


# ---------------------------------------------------------------------------------------------
# Training set (2D, optionally the camera-frame 3D)
# ---------------------------------------------------------------------------------------------

def _cells(path: Path, key: str, value: Any) -> list[Any]:
    """A MATLAB cell array read by scipy (object array, 14x1 or 1x14) -> list of its entries."""
    a = np.asarray(value)
    if a.dtype != object:
        raise InputError(f"{path}: '{key}' is not a cell array (one entry per camera), got a {a.dtype} array of shape {a.shape}")
    return list(a.reshape(-1))


def read_camera_calibration(path: str | Path) -> dict[int, dict[str, Any]]:
    """Parse a 'Skeletool Camera Calibration File V1.0' (`camera.calibration`): camera id ->
    {"size": (w, h) pixels, "K": (3,3) intrinsics in pixels, "extrinsic": (4,4) world->camera mm}."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        raise InputError(f"{path}: cannot be read ({e})") from None
    if not lines or not lines[0].startswith("Skeletool Camera Calibration File"):
        raise InputError(f"{path}: not a Skeletool camera calibration file (first line {lines[0][:60]!r})"
                         if lines else f"{path}: empty calibration file")
    cams: dict[int, dict[str, Any]] = {}
    current: dict[str, Any] | None = None
    for line in lines[1:]:
        parts = line.split()
        if not parts:
            continue
        try:
            if parts[0] == "name":
                current = cams.setdefault(int(parts[1]), {})
            elif current is not None and parts[0] == "size":
                current["size"] = (int(float(parts[1])), int(float(parts[2])))
            elif current is not None and parts[0] == "intrinsic":
                current["K"] = np.array([float(v) for v in parts[1:17]]).reshape(4, 4)[:3, :3]
            elif current is not None and parts[0] == "extrinsic":
                current["extrinsic"] = np.array([float(v) for v in parts[1:17]]).reshape(4, 4)
        except (ValueError, IndexError):
            raise InputError(f"{path}: malformed line {line.strip()!r}") from None
    return cams


def load_3dhp_train_2d(
    root: str | Path | None,
    subjects: tuple[str, ...] = TRAIN_SUBJECTS,
    seqs: tuple[str, ...] = TRAIN_SEQS,
    cameras: tuple[int, ...] = TRAIN_CAMERAS,
    *,
    with_3d: bool = True,
) -> list[Sequence]:
    """Read the MPI-INF-3DHP training annotations `root/S{i}/Seq{j}/annot.mat` -> one `Sequence`
    per subject, sequence and camera, in ambipose's 17-joint order (`TRAIN28_TO_H36M17`).

    `poses_2d` (T,17,2) pixels of that camera (2048x2048). `poses_3d` (T,17,3) is `annot3`, the
    metric pose in that camera's frame (mm), when `with_3d` and the file has it, else None (the
    unsupervised training needs only the 2D; `with_3d=False` also skips reading it). Rows past the
    video's frame count (`TRAIN_SEQUENCE_INFO`) are dropped. Focal lengths come from
    `camera.calibration` beside annot.mat where present (else ~1500 px, `meta["focal_source"]`).
    `action` is the sequence ("Seq1"), `camera` the camera id as a string ("0").
    root None means `$AMBIPOSE_DATA/mpi_inf_3dhp`.
    """
    if root is None:
        from ..settings import data_root

        root = data_root() / "mpi_inf_3dhp"
    root = Path(root).expanduser()
    out: list[Sequence] = []
    for subject in subjects:
        for seq in seqs:
            path = root / subject / seq / "annot.mat"
            fmt = _mat_format(path)
            if fmt != "v5":
                raise InputError(f"{path}: is an HDF5/MATLAB v7.3 file; expected the original MATLAB v5 annot.mat "
                                 "(re-save it with save(..., '-v7') or use the original download)")
            raw = _read_v5_fields(path, ("annot2", "cameras"), ("frames",) + (("annot3",) if with_3d else ()))
            cam_ids = _numeric(path, "cameras", raw["cameras"]).reshape(-1).astype(np.int64).tolist()
            cells2 = _cells(path, "annot2", raw["annot2"])
            cells3 = _cells(path, "annot3", raw["annot3"]) if "annot3" in raw else None
            for key, cells in (("annot2", cells2), ("annot3", cells3)):
                if cells is not None and len(cells) != len(cam_ids):
                    raise InputError(f"{path}: '{key}' has {len(cells)} cells but 'cameras' lists {len(cam_ids)} cameras")
            frames = raw.get("frames")
            n_video, fps = TRAIN_SEQUENCE_INFO.get((subject, seq), (None, 25.0))
            calib_path = path.parent / "camera.calibration"
            calib = read_camera_calibration(calib_path) if calib_path.is_file() else {}
            for cam in cameras:
                if cam not in cam_ids:
                    raise InputError(f"{path}: camera {cam} is not in 'cameras' ({cam_ids})")
                k = cam_ids.index(cam)
                p2 = _flat_poses(path, f"annot2{{{k + 1}}}", cells2[k], 2)
                n = len(p2) if n_video is None else min(len(p2), n_video)
                p3 = None
                if cells3 is not None:
                    p3 = _flat_poses(path, f"annot3{{{k + 1}}}", cells3[k], 3)
                    if len(p3) != len(p2):
                        raise InputError(f"{path}: camera {cam}: 'annot3' has {len(p3)} rows but 'annot2' has {len(p2)}")
                    p3 = p3[:n, TRAIN28_TO_H36M17].astype(np.float32)
                if frames is not None:
                    fidx = _as_vector(path, "frames", frames, len(p2)).astype(np.int64)[:n]
                else:
                    fidx = np.arange(n, dtype=np.int64)
                c = calib.get(cam, {})
                w, h = c.get("size", TRAIN_IMAGE_SIZE)
                focal = float(np.mean([c["K"][0, 0], c["K"][1, 1]])) if "K" in c else TRAIN_FOCAL_FALLBACK_PX
                out.append(Sequence(
                    subject=subject, action=seq, camera=str(cam),
                    poses_2d=p2[:n, TRAIN28_TO_H36M17].astype(np.float32), poses_3d=p3,
                    fps=fps, res_w=int(w), res_h=int(h), focal=focal,
                    meta={"dataset": "mpi_inf_3dhp", "split": "train", "frame_index": fidx,
                          "focal_source": str(calib_path) if "K" in c else "approximate",
                          "source": str(path)},
                ))
    return out


def _flat_poses(path: Path, key: str, arr: Any, dims: int) -> np.ndarray:
    """(T, 28*dims) rows x1 y1 (z1) x2 ... -> (T, 28, dims) float64, checked."""
    a = _numeric(path, key, arr)
    if a.ndim != 2 or a.shape[1] != 28 * dims:
        raise InputError(f"{path}: '{key}' has shape {a.shape}, expected (T, {28 * dims}) = 28 joints x {dims}")
    if len(a) == 0:
        raise InputError(f"{path}: '{key}' has no frames")
    a = a.astype(np.float64).reshape(len(a), 28, dims)
    if not np.isfinite(a).all():
        raise InputError(f"{path}: '{key}' contains NaN or inf coordinates")
    return a


def activity_name(activity_id: int) -> str:
    """Official name of an `activity_annotation` value (1..7); others as 'activity N'."""
    return ACTIVITY_NAMES.get(int(activity_id), f"activity {int(activity_id)}")


assert len(TEST17_TO_H36M17) == NUM_JOINTS and sorted(TEST17_TO_H36M17.tolist()) == list(range(17))

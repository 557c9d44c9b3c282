"""DVS128 Gesture (Amir et al. 2017): 11 hand gestures by 29 people under several lightings,
recorded with a DVS128 (128x128), in IBM's original release.

Layout (``DvsGesture.tar.gz`` extracted): ``<dir>/userNN_<lighting>.aedat`` (AEDAT 3.1), each
with ``userNN_<lighting>_labels.csv`` (``class,startTime_usec,endTime_usec``), and the official
split lists ``trials_to_train.txt`` / ``trials_to_test.txt``; ``<dir>`` is the root itself or
``root/DvsGesture``. Each labelled window of a recording is one sample (events with
``start <= t < end``).
"""

from __future__ import annotations

from pathlib import Path

from ...errors import DatasetError
from ..registry import register_dataset
from .datasets import Recording, event_dataset
from .readers import DVS128_SENSOR, read_aedat31, read_gesture_labels

CLASSES = [
    "hand_clapping",
    "right_hand_wave",
    "left_hand_wave",
    "right_arm_clockwise",
    "right_arm_counter_clockwise",
    "left_arm_clockwise",
    "left_arm_counter_clockwise",
    "arm_roll",
    "air_drums",
    "air_guitar",
    "other_gestures",
]
SUBDIRS = ("", "DvsGesture")
DOWNLOAD_URL = "https://ibm.ent.box.com/s/3hiq58ww1pbbjrinh367ykfdf60xsfm8/folder/50167556794"


def trial_list(train: bool) -> str:
    return "trials_to_train.txt" if train else "trials_to_test.txt"


def find_dvs_gesture(root: Path, train: bool) -> Path | None:
    for sub in SUBDIRS:
        if (root / sub / trial_list(train)).is_file():
            return root / sub
    return None


def dvs_gesture_recordings(directory: Path, train: bool) -> list[Recording]:
    """One recording per labelled window of every trial in the official train or test list."""
    listing = directory / trial_list(train)
    recs = []
    for line in listing.read_text().splitlines():
        trial = line.strip()
        if not trial:
            continue
        stem = trial[: -len(".aedat")] if trial.endswith(".aedat") else trial
        path = directory / f"{stem}.aedat"
        if not path.is_file():
            raise DatasetError(f"{path} is listed in {listing} but missing; extract DvsGesture.tar.gz again")
        for k, (label, start, end) in enumerate(read_gesture_labels(directory / f"{stem}_labels.csv")):
            recs.append(Recording(path, label, f"{stem}-{k:02d}", (start, end)))
    if not recs:
        raise DatasetError(f"{listing} lists no recordings")
    return recs


def locate_dvs_gesture(base: Path, train: bool, download: bool) -> Path:
    """The DVS128 Gesture folder under ``base``; raises :class:`DatasetError` with the manual
    download steps when there is none (``download`` cannot fetch it)."""
    directory = find_dvs_gesture(base, train)
    if directory is None:
        why = " (download=true cannot fetch it)" if download else ""
        raise DatasetError(
            f"DVS128 Gesture not found under {base} ({trial_list(train)} missing in "
            f"{' or '.join(str(base / s) for s in SUBDIRS)}); it must be downloaded by hand{why}: "
            f"get DvsGesture.tar.gz from {DOWNLOAD_URL} (IBM's page "
            f"https://research.ibm.com/interactive/dvsgesture/) and run "
            f"'tar -xzf DvsGesture.tar.gz -C {base}' so that {base / 'DvsGesture' / trial_list(train)} exists"
        )
    return directory


dvs_gesture = register_dataset("dvs_gesture")(
    event_dataset(
        "dvs_gesture",
        T=16,
        locate=locate_dvs_gesture,
        recordings=dvs_gesture_recordings,
        reader=read_aedat31,
        sensor=DVS128_SENSOR,
        classes=CLASSES,
        doc="""DVS128 Gesture as ``T`` frames of ``2 x S x S`` event counts (``S`` = 128 or ``resize``);
    official train/test trials. Random temporal delete ``T_train`` (e.g. 12 of 16) in training.
    ``download`` is accepted for uniformity but cannot help: IBM's licence needs a manual download.""",
    )
)

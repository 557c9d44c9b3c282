"""Fixtures for the event-data tests."""

import pytest
from event_files import write_gesture_trial


@pytest.fixture
def gesture_tree(tmp_path):
    """A tiny DvsGesture folder: two training trials and one test trial."""
    root = tmp_path / "DvsGesture"
    root.mkdir()
    write_gesture_trial(root, "user01_fluorescent", [(1, 1000, 5000), (3, 6000, 9000)], 40, seed=1)
    write_gesture_trial(root, "user02_led", [(11, 2000, 4000)], 30, seed=2)
    write_gesture_trial(root, "user24_natural", [(2, 500, 2500), (5, 3000, 3500)], 25, seed=3)
    (root / "trials_to_train.txt").write_text("user01_fluorescent.aedat\nuser02_led.aedat\n\n")
    (root / "trials_to_test.txt").write_text("user24_natural.aedat\n")
    return tmp_path

"""Video in, 3D out: read frames (`reader`), detect 2D keypoints with a backend that ships its
model inside its package (`detectors`), and turn the detections into the `Keypoints2D` every
other command uses (`pipeline`). Needs the optional extra: `pip install -e ".[video]"`.

Memory does not grow with the clip: frames are read one at a time and only the keypoints are
kept ((T, 33, 3) floats, about 400 bytes per frame).
"""

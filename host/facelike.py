"""Whether a track is a person or a false face (the back of a head, a lamp, a pattern in the background).

A detection is face-like when MTCNN's confidence is at least `FACE_CONFIDENCE`; a track is stored as a person
only when at least `FACELIKE_SHARE` of its detections are. Measured on the real clips (docs/camera.md): the
faces of the stored tracks have median confidence >= 0.99 (a heavily motion-blurred one 0.90, with 43 % of its
detections >= 0.95); the false ones (a static object in the background detected on 69 frames, a hand, window
blinds, blurred backs of heads in stage light) 0.72-0.93 with at most 14 % >= 0.95. MTCNN's five landmarks
were always inside the box and in face order, even on false faces, so they do not tell them apart. Chosen on
two-people, cuts-dance and crowd, confirmed on the other clips. Never the quality score: a blurred or dark real
face is kept however low it scores.
"""

from __future__ import annotations

from host.faces import Detection

FACE_CONFIDENCE = 0.95   # detector confidence of a face-like detection
FACELIKE_SHARE = 0.3     # share of a track's detections that must be face-like


def is_facelike(det: Detection) -> bool:
    return det.confidence >= FACE_CONFIDENCE


def is_face_track(facelike: int, detections: int) -> bool:
    """True when `facelike` of a track's `detections` are enough for a person."""
    return facelike >= FACELIKE_SHARE * detections


def why_not_a_face(facelike: int, detections: int) -> str:
    return (f"not face-like: {facelike} of {detections} detections with detector confidence >= {FACE_CONFIDENCE} "
            f"(a person needs {FACELIKE_SHARE:.0%})")

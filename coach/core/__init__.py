"""The pure core: no cv2, mediapipe, pygame or sqlite imports (tests/test_purity.py enforces it)."""

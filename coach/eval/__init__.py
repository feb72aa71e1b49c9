"""Evaluation tooling (not imported at run time): the detector against injected truth.

- `cases`: clips and their truth files → measured cases (each clip tracked and measured once, in parallel);
- `truth`: what the tracker read, sorted into must-flag, grey and must-stay-silent by the issue's rules;
- `score`: detections matched against the truth, per clip, face and variant;
- `lofo`: thresholds chosen by leave-one-face-out, and scored only on the face left out.
"""

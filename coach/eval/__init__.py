"""Evaluation tooling (not imported at run time): the detector against injected truth.

The synthetic clips (scripts/make_clips.py):

- `faces`: the source face photos, their canvases and the cache of their neutral landmarks;
- `warp`: the piecewise-affine warp, the displacement fields and their time envelopes;
- `recipes`: what each clip injects (`Clip`), its truth record, and the default and eval sets;
- `render`: a clip's frames (`Renderer`) written with its truth (`render`);
- `tracked`: what the tracker reads in a clip (landmark streams, lid gaps, corner movement).

Scoring them (`coach eval DIR`):

- `cases`: clips and their truth files → measured cases (each clip tracked and measured once, in parallel);
- `truth`: what the tracker read, sorted into must-flag, grey and must-stay-silent by the issue's rules;
- `score`: detections matched against the truth, per clip, face and variant;
- `lofo`: thresholds chosen by leave-one-face-out, and scored only on the face left out;
- `run`: `coach eval` itself; `bench`: timing.
"""

"""The imperative shell: camera, tracker, display, sound and store edges."""

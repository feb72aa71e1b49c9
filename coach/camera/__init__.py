"""Where frames come from: video files, the webcam, the face tracker and its model."""

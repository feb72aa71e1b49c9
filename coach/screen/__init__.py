"""What the patient sees and hears: the window, the screens, meters, widgets and sounds."""

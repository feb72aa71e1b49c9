"""Built-in exercise definitions (data; installed as coach.exercises)."""

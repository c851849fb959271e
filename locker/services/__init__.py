"""Use cases of the core. Each public function is one unit of work (plus, where it opens a
door, one hardware call between the recorded intent and the recorded outcome)."""

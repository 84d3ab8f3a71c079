"""The terminal UI of `voicecli talk`: a view state, a pure renderer, and the Live loop."""

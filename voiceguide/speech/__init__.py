"""Speech: the engine interface and registry, the built-in engines, and the phrase bank
with its content-addressed cache."""

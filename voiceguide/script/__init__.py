"""The narration script: templates in a sandbox, and a routine expanded into speech,
timed slots and chapters."""

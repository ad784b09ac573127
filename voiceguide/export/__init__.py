"""Export: the format registry and formats (MP3, WAV), cover art, cue sheets and the
timeline picture."""

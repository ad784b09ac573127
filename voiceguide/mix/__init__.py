"""Mixing: built-in sounds (beds, chimes), loudness measurement, and the mixer."""

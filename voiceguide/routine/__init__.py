"""Routines: the file format (steps, exercises), the exercise library, loading with
precise messages, and the catalogue of routine folders."""

"""Packs: many personalised tracks from one pack file (model, plan, manifest, runners),
published for players (playlist, podcast feed, web player, zip) and served over HTTP."""

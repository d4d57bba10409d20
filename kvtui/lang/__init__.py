"""The language: one command parser (MoveBlock, request and expect verbs), expect checks, YAML scripts."""

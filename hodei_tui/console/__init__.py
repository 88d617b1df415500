"""The operator console: a Textual app over a small client protocol."""

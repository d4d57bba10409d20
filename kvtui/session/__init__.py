"""The step session shared by the TUI and the headless CLI: cursor, checkpoints, journal, reports."""

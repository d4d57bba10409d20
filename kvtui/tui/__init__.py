"""The Textual front end. It renders engine snapshots and sends commands; no simulation here."""

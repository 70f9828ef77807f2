"""`otp-tui report`: the audit trail summarised for a period, for the people who watch logins.

`trail` finds the trail's files (rotated and compressed ones too) and reads their lines,
`period` reads `--since` and `--until`, `summary` counts the events, and `render` prints the
counts as a table, as JSON, or as OpenMetrics text for node_exporter's textfile collector.
"""

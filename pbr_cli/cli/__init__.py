"""The command line: parses, calls the jobs, renders."""

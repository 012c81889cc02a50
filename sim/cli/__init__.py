"""The `cxm` command: its parser and subcommands."""

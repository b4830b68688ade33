"""The command line's subcommands, one module each (imported only when that command runs), plus the
shared pieces: `session` (settings, servers, emulator, store) and `output` (printing and exit codes)."""

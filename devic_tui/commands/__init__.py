"""The command line's subcommands, one module each, plus the shared pieces: `session` (settings,
servers, emulator, store) and `output` (printing and exit codes).

Every start of `devic-tui` imports these modules to build the argument parser, so each stays light to
import: what a command needs to run (the config, the providers, the history, pydantic, asyncio) is
imported inside the functions that run it, and named for annotations under `TYPE_CHECKING`
(tests/test_light_imports.py checks it)."""

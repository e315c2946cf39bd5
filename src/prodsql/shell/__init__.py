"""The interactive shell: a prompt_toolkit REPL on the audited statement path.

Imported only when the shell opens, so ``-c``/``-f`` never pay for prompt_toolkit.
"""

from prodsql.shell.app import Shell, ShellOptions, run_shell

__all__ = ["Shell", "ShellOptions", "run_shell"]

"""The exceptions ltxflow raises for bad input: one line that names the file, key or row."""

from __future__ import annotations


class LtxflowError(Exception):
    """Bad input the user can fix; the CLI prints it as one line and exits with code `exit_code` (2)."""

    exit_code = 2


class CampaignError(LtxflowError):
    """A campaign TOML file that cannot be read or holds a bad value."""


class VariantsError(LtxflowError):
    """A variants CSV that cannot be read, or a row that breaks a rule."""


class TemplateError(LtxflowError):
    """A prompt template that does not load or does not render for a row."""


class PluginError(LtxflowError):
    """A plugin that fails to load, or two plugins registering the same name."""


class BudgetError(LtxflowError):
    """Running the pending tasks would exceed the campaign's budget."""


class StorageError(LtxflowError):
    """A write the file system refused (disk full, quota, read-only, no permission): one line naming the file;
    nothing half-written is left, and a rerun after the cause is fixed carries on. The CLI exits with EX_IOERR."""

    exit_code = 74  # sysexits.h EX_IOERR: not bad input (2), not a failed task (1)


class Interrupted(KeyboardInterrupt):
    """SIGTERM during a run, raised like Ctrl-C so the same clean-up runs; `signum` picks the exit status."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"signal {signum}")
        self.signum = signum

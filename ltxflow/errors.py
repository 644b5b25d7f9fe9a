"""The exceptions ltxflow raises for bad input: one line that names the file, key or row."""

from __future__ import annotations


class LtxflowError(Exception):
    """Bad input the user can fix; the CLI prints it as one line and exits with code 2."""


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

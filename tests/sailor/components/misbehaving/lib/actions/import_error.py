"""A module whose import fails."""

import a_module_that_is_not_installed  # noqa: F401


def process(self, msg, cfg, snapshot):
    return msg

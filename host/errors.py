"""The one error type of facevault's files and keys."""


class VaultError(ValueError):
    """A key or file that cannot be used; the message says which one, the rule it breaks and the bad value."""

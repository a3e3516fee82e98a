"""Exceptions for work that cannot continue; their messages are Chinese and shown as they are."""


class UserError(Exception):
    """The user can fix this (a file, a setting); the CLI prints the message, exit status 1."""

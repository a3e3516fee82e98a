"""Exceptions for work that cannot continue; their messages are Chinese and shown as they are."""


class InputError(Exception):
    """A file or a setting the user can fix; the command prints the message, exit status 1."""


class CommandLineError(Exception):
    """Wrong arguments on the command line, said in Chinese; exit status 2."""

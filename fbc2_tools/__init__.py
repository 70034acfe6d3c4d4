"""Command-line tools of the kit that are not the submission: weights download, console entry points."""

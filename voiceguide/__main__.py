"""`python -m voiceguide` runs the CLI."""

from voiceguide.cli import main

main()

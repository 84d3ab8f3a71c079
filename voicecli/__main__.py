"""`python -m voicecli` is the `voicecli` command."""

from voicecli.cli import main

if __name__ == "__main__":
    main()

"""What the bot does when someone talks to it: the command layer and one adapter per platform."""

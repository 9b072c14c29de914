"""The chat floor: the neutral conversation layer, the shared runtime, one package per platform."""

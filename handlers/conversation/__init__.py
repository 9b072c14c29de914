"""The platform-neutral conversation layer: chat grammar, access, limits and the use cases."""

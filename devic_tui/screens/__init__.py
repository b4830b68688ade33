"""The app's screens: the main chat screen, help and dialogs."""

"""The app's widgets: sidebar, transcript pane, message views, composer, status bar."""

"""The bundled theme files. This folder ships inside the package as `devic_tui.bundled_themes`
(pyproject.toml maps it), so installed copies read the `.toml` files with importlib.resources."""

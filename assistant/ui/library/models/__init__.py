"""Item models of the library: catalog, Hub results and files, downloads, installed list."""

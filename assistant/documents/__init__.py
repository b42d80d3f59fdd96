"""The user's own documents: parse, chunk, embed, index, retrieve, cite.

Qt-free: the window (ui/documents/), the command line (cli/docs.py) and the API server
(server/embeddings_api.py) all call it. Files are parsed in a child process (parse_host.py),
embedded in an embedding engine process (engines/embedding_host.py), indexed in SQLite
(index.py: FTS5 for keywords; vectors through sqlite-vec or numpy, vectors.py), and found
again by reciprocal rank fusion (retrieve.py). answer.py turns passages into a prompt with
numbered sources. service.py is the one object the front ends hold.
"""

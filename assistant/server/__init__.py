"""The local API server: OpenAI- and Anthropic-compatible HTTP APIs answered by the app's
own engines and library (`assistant serve`, Settings → Server). Qt-free.

- app.py          the starlette app: routes, the token check, one network-record line per request
- openai_api.py   /v1/models, /v1/chat/completions, /v1/completions (streaming and usage)
- anthropic_api.py  /v1/messages (streaming)
- models.py       the served models and the one engine: a queue on one worker thread
- auth.py         the token: generated once, kept in the keyring, compared in constant time
- runner.py       uvicorn on a socket bound here: in a thread (the window) or in the foreground (CLI)
"""

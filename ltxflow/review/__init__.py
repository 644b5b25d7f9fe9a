"""The review loop: a local web app over the ledger (grid, side by side, history), decisions, export, promote.

`model` builds what the pages show from the current plan and the ledger (no web framework); `app`, `security`
and `server` need the optional extra `review` (Starlette + uvicorn) and are imported only by `ltxflow review`.
"""

"""``deepstep playground``: the lesson in the browser.

:mod:`.session` is one tab's training session (plain Python on
:class:`deepstep.DeepNetwork`), :mod:`.datasets` the 2-D datasets,
:mod:`.app` the Starlette app and :func:`.app.serve` (uvicorn); the page's
files are in ``static/`` and ship with the package. Nothing here is imported
by ``import deepstep``; the server needs ``pip install 'deepstep[playground]'``.
"""

"""``deepstep playground``: the lesson in the browser, served from this machine."""

from __future__ import annotations

import click


@click.command("playground")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on (the default serves this machine only)")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="port to listen on")
@click.option("--no-browser", is_flag=True, help="do not open a browser tab")
def playground_command(host, port, no_browser):
    """Open the playground: train a network on 2-D data in your browser, step by step.

    A local web page (it works offline) with TensorFlow Playground's datasets
    and settings, plus the lesson's: the initialization, the optimizer,
    dropout, the dimension table, gradient norms per layer, a step mode that
    shows the lesson's equations with their numbers, and export of the model
    file and of the Python that replays the run. Each browser tab trains its
    own network. Stop the server with Ctrl-C.
    """
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise click.UsageError("the playground needs starlette and uvicorn: pip install 'deepstep[playground]'") \
            from None
    import socket

    from ..playground.app import serve

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except OSError as exc:
        raise click.ClickException(f"cannot use --host {host} ({exc.strerror or exc}); "
                                   f"give an address such as 127.0.0.1") from None
    try:                                    # fail before starting, in one line, when the port is taken
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port} ({exc.strerror or exc}); "
                                   f"choose another --port, or stop what is using it") from None

    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(f"deepstep: warning: serving on {host}: other machines on the network can open the playground",
                   err=True)

    def ready(url):
        click.echo(f"deepstep playground on {url} (Ctrl-C stops it)", err=True)

    return serve(host=host, port=port, open_browser=not no_browser, ready=ready)

"""CLI for organisations, users and API tokens (registered in riskatlas.cli)."""

from __future__ import annotations

import typer

orgs_app = typer.Typer(help="Organisations.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens.", no_args_is_help=True)

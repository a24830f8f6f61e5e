"""`riskatlas proposals ...` and `riskatlas meetings ...`: thin commands over governance."""

from __future__ import annotations

import typer

proposals_app = typer.Typer(help="Proposals to change the catalog, national positions and "
                            "decisions by the grouping's adoption rule.", no_args_is_help=True)
meetings_app = typer.Typer(help="Meetings (summit, ministerial, expert) and their briefing "
                           "packs.", no_args_is_help=True)

"""`hub review`: possible matches for a data steward to decide, and the decisions (must-link, cannot-link)."""

from __future__ import annotations

import typer
from rich.table import Table

from hub.commands.context import acting, console, require
from hub.config import load_settings

app = typer.Typer(help="Possible matches for a steward to decide.", no_args_is_help=False)


@app.callback(invoke_without_command=True)
def review_list(
    ctx: typer.Context,
    limit: int = typer.Option(20),
    held_back: bool = typer.Option(
        False, "--held-back", help="List instead the possible matches not asked: one kind of evidence alone."
    ),
) -> None:
    """List possible matches with the evidence for and against each, the most instructive first.

    Only pairs whose records agree on two kinds of evidence or more (a name, an email, a phone, a birth
    date, an address) are asked: a shared name alone, or two nameless records sharing only an email or a
    phone, give a steward nothing to weigh, and a decision on one teaches nothing about the next. They
    stay apart; `--held-back` lists them.

    Every decision is a label the next run learns from: it corrects the score of every pair with the
    same levels (its pattern). So a pair comes first when the model is unsure of it (the entropy of its
    probability), when its pattern covers many waiting pairs, when it would join or split many records,
    and when its pattern has few decisions yet; a screen is spread over patterns (each pick from a
    pattern counts as a decision on it). The rule: entropy x log2(1 + records of both customers) x
    log2(1 + waiting pairs of the pattern) / (1 + decisions on the pattern + its pairs ranked before).
    """
    if ctx.invoked_subcommand is not None:
        return
    import pandas as pd

    from hub import storage
    from hub.review import SHOWN_FIELDS, queue_size, review_queue

    reader = require(ctx, "mdm.source_record", "mdm.match_pair")
    engine = storage.engine(load_settings().database_url)
    items = review_queue(engine, limit, held_back)
    if not items:
        console.print("Nothing to review.")
    for item in items:
        table = Table(
            title=f"{item.left_id}  ~  {item.right_id}   p={item.probability:.3f}  "
            f"(customers {item.left_customer} / {item.right_customer}; its pattern: "
            f"{item.pattern_pending} waiting, {item.pattern_decided} decided)",
            title_justify="left",
        )
        table.add_column("field")
        table.add_column(item.left_id)
        table.add_column(item.right_id)
        sides = reader.mask("mdm.source_record", pd.DataFrame([item.left, item.right], columns=SHOWN_FIELDS))
        for field in SHOWN_FIELDS:
            table.add_row(field, *(str(side.get(field) or "") for side in sides.to_dict("records")))
        for evidence in item.evidence:
            table.add_row(f"[dim]{evidence.feature}[/dim]", f"[dim]{evidence.level}[/dim]", f"{evidence.weight:+.1f}")
        console.print(table)
    console.print("Decide with `hub --role steward review accept LEFT RIGHT` (or `reject`).")
    if not held_back:
        held = queue_size(engine, held_back=True)
        console.print(f"{held:,} more possible matches rest on one kind of evidence and are not asked (`--held-back`).")


def _decide(ctx: typer.Context, left: str, right: str, accept: bool, reason: str | None) -> None:
    from hub.access.acting import authorised
    from hub.review import decide

    actor = acting(ctx, "decide_match")
    with authorised(load_settings(), actor, "decide_match") as (connection, detail):
        detail["override_id"] = decide(connection, left, right, accept, actor.name, reason)
        detail["decision"] = "must_link" if accept else "cannot_link"
    verdict = "same person (must-link)" if accept else "different people (cannot-link)"
    console.print(f"Recorded: {left} and {right} are {verdict}. `hub run` applies it.")


@app.command("accept")
def review_accept(ctx: typer.Context, left: str, right: str, reason: str = typer.Option(None)) -> None:
    """The two records are one person."""
    _decide(ctx, left, right, True, reason)


@app.command("reject")
def review_reject(ctx: typer.Context, left: str, right: str, reason: str = typer.Option(None)) -> None:
    """The two records are different people."""
    _decide(ctx, left, right, False, reason)

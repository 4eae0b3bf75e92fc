"""The managers' route-plan review page (/plans/): optimise a day, watch it, review, edit, compare, publish.

The page is its own Dash app mounted at /plans/ on the console's server (see `console.app`), so its
figures never weigh on the wall screen's store and it needs no guessing which page asked for a layout.
Optimisation runs as a background job (`services.plan_jobs.PlanJobs`); its progress arrives pushed over
Socket.IO ("plan-progress" to the room of users who may plan). A manager picks a plan of the day,
reviews KPIs, routes, the Gantt timeline and the unplanned orders, compares it with the day's
published plan, moves a visit to another worker (a new draft, re-timed, with the rules it breaks),
publishes, and re-plans the published day mid-day.

Each concern has its module: `summary` (KPIs, progress, badge, picker), `map_view`, `gantt`, `panels`
(rules, comparison, unplanned, move choices) and `layout`, pure presenters of the typed plan values of
`services.plan_views`, unit-tested without a server; and the callbacks in `job_callbacks` (optimise,
re-plan, stop, progress, and the picker, its one writer), `edit_callbacks` (move, publish) and `show_callbacks` (the picked plan).
The browser holds only plan ids; the typed plan is read on the server.
"""

from __future__ import annotations

from dash import Dash

from console.auth import Auth
from console.pages.plans import edit_callbacks, job_callbacks, show_callbacks
from console.pages.plans.common import BASEMAP_URL, MONACO_CENTRE, PATH, LocatePlaces
from console.pages.plans.layout import layout
from console.pages.plans.map_view import PathOf
from console.pages.plans.summary import default_day
from console.pages.plans.wiring import ApplyPlan, CompareWithPublished, PlanPage
from services.plan_jobs import PlanJobs

__all__ = ["BASEMAP_URL", "MONACO_CENTRE", "PATH", "default_day", "layout", "register"]


def register(
    dash_app: Dash,
    *,
    jobs: PlanJobs,
    auth: Auth,
    locate: LocatePlaces,
    compare: CompareWithPublished,
    apply_plan: ApplyPlan,
    path_of: PathOf | None = None,
) -> None:
    page = PlanPage(jobs=jobs, auth=auth, locate=locate, compare=compare, apply_plan=apply_plan, path_of=path_of)
    for module in (job_callbacks, edit_callbacks, show_callbacks):
        module.register(dash_app, page)

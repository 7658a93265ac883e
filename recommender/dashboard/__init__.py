"""The dashboard `recommend serve` shows at `/`: server-rendered pages (no script, no CDN: the
templates and the stylesheet ship in the package) over what the other commands stored.

    app         its routes on the API's FastAPI app; `is_page` tells its paths from the JSON API's
    pages       each page: gather, turn what is missing into a notice, render (`DashboardConfig`)
    notices     what a page says is missing, and the command that fixes it
    views       pure shaping: bars, figure tables, crawl runs, a library by status, numbers
    store_data  the latest crawl runs with their errors by kind, the newest segmentation run
    cache       the store's counts, refreshed in the background (too slow for a page)
    plots       the k sweep drawn by the server; the PNGs training and segmentation wrote
    api_docs    the API's docs page, drawn from its OpenAPI document
    render      Jinja templates to HTML; error pages
"""

from recommender.dashboard.app import add_dashboard, is_page
from recommender.dashboard.pages import DashboardConfig, Pages
from recommender.dashboard.render import error_page

__all__ = ["DashboardConfig", "Pages", "add_dashboard", "error_page", "is_page"]

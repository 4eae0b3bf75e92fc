"""Component ids and socket event names of the live map page and its order panel (kebab-case, one place)."""

MAP = "live-map"
WORKERS_LAYER = "workers-layer"
ORDERS_LAYER = "orders-layer"
BASEMAP_LAYER = "basemap-layer"
COUNTS = "live-counts"
STATE_COUNTS = "state-counts"  # the workers per state: drawn by live.js, outside Dash's store
OPEN_ORDERS = "open-orders-count"
FEED = "live-feed"  # whether live.js's own socket (positions) is connected: {"connected": bool}
SEARCH = "worker-search"
WORKER_LIST = "worker-list"  # drawn by live.js, outside Dash's store
CONN = "connection-status"
SELECTED = "selected-worker"
CARD = "worker-card"

# The exceptions panel over the map: open alerts, drawn and kept current by live.js (outside Dash's store).
ALERTS_PANEL = "alerts-panel"
ALERTS_COUNT = "alerts-count"
ALERTS_LIST = "alerts-list"

# The side panel's tabs (the active one lives in a store; live.js sets the classes).
WALL = "wall"
ACTIVE_TAB = "active-tab"
TAB_WORKERS = "tab-workers"
TAB_ORDERS = "tab-orders"
TAB_NEW_ORDER = "tab-new-order"
PANE_WORKERS = "pane-workers"
PANE_ORDERS = "pane-orders"
PANE_NEW_ORDER = "pane-new-order"

# Map layers of the order panel.
SITES_LAYER = "sites-layer"
HIGHLIGHT_LAYER = "highlight-layer"

# The orders tab: the open orders and one order's card.
ORDER_LIST = "order-list"
SELECTED_ORDER = "selected-order"
ORDER_REFRESH = "order-refresh"
ORDERS_CHANGED = "orders-changed"  # bumped by live.js when it changed orders on the map in place
ORDER_DETAIL = "order-detail"
ORDER_HEAD = "order-head"
ORDER_CARD = "order-card"
ORDER_MESSAGE = "order-message"
ORDER_ACTIONS = "order-actions"
ORDER_EXCLUDED = "order-excluded"
CARD_SHOW_ALL = "card-show-all"  # {"order_id": 7}: the order whose card shows every worker, not the first rows
SHOW_ALL_CANDIDATES = "show-all-candidates"
SHOW_ALL_EXCLUDED = "show-all-excluded"
ASSIGN = "assign-worker"
# {"type": ASSIGN or NEAR_ASSIGN, "index": worker_id, "click": n}: the Assign button just clicked, set by live.js's
# one listener (the buttons are no Dash inputs, so drawing a card's 20 of them asks the server nothing)
ASSIGN_CLICK = "assign-click"
# {"order_id": 7, "notice": {...}}: the answer to an Assign or Cancel click; it becomes the selection (live.js
# orders.actionAnswer) only while its order is still the one selected
ORDER_ACTION = "order-action"
OVERRIDE_REASON = "override-reason"
CANCEL_ORDER = "cancel-order"

# The new-order form (built into NEW_ORDER_FORM by the server when the tab is first opened).
NEW_ORDER_FORM = "new-order-form"
SITE_PICKER = "order-site"
ORDER_TYPE = "order-type"
ORDER_PRIORITY = "order-priority"
ORDER_SKILLS = "order-skills"
START_DATE = "order-start-date"
START_TIME = "order-start-time"
END_DATE = "order-end-date"
END_TIME = "order-end-time"
ORDER_DURATION = "order-duration"
ORDER_NOTES = "order-notes"
SUBMIT_ORDER = "order-submit"
FORM_MESSAGE = "order-form-message"

# The orders tab's extras: assign every new order at once, who is near an order's site, what the field sent.
BATCH_BAR = "batch-bar"
BATCH_ASSIGN = "batch-assign"
BATCH_MESSAGE = "batch-message"
NEAR_TARGET = "near-target"
NEAR_DEFAULTS = "near-defaults"
NEAR_SKILLS = "near-skills"
NEAR_N = "near-n"
NEAR_SEARCH = "near-search"
NEAR_LIST = "near-list"
NEAR_ASSIGN = "near-assign"
FIELD_SECTION = "field-section"
FIELD_REFRESH = "field-refresh"
ORDER_FIELD = "order-field"

# The worker card's push link: issue, send, revoke, and the issued link (URL, QR code, expiry).
PUSH_PANEL = "push-panel"
PUSH_LINK = "push-link"
PUSH_SEND = "push-send"
PUSH_REVOKE = "push-revoke"
PUSH_RESULT = "push-result"
PUSH_URL = "push-url"
PUSH_COPY = "push-copy"

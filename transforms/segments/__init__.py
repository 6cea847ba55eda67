"""Customer segments: pure functions from purchase, contact and engagement frames to per-customer metrics.

``metrics.customer_metrics`` is the entry point; it runs the models of the other modules, each of
which can also be used on its own:

- ``history``: purchase events checked, converted to UTC and cut at the as-of moment;
- ``purchase_model``: the BG/NBD and Gamma-Gamma purchase and spend models;
- ``rfm``: RFM scores and named segments;
- ``lifecycle``: lifecycle stages from suspect to churned;
- ``value``: ABC classes and value quadrants;
- ``churn``: churn risk and the signals behind it;
- ``greetings``: birthdays and name days;
- ``config``: every model's rules and thresholds, loadable from TOML.

Nothing here reads files, runs SQL or imports ``hub``: the hub builds the frames and stores the result.
"""

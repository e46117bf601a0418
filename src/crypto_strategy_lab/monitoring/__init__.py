"""Monitoring: alert rules and sinks, performance attribution, Prometheus metrics, and the
read-only Streamlit dashboard over the journal (see ``README.md``).

The package exports no names: import from its modules (``monitoring.alerts``,
``monitoring.sinks``, ``monitoring.attribution``, ``monitoring.metrics``).
"""

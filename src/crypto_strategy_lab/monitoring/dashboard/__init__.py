"""The Streamlit monitoring dashboard (read-only view of the journal).

``app.py`` is the entry point (``csl dashboard`` / ``streamlit run
scripts/monitoring_dashboard.py``); ``pages/`` holds one thin Streamlit page script per page,
each calling its ``views/<page>.render``; ``monitoring/reader.py`` reads the journal read-only;
``charts.py`` builds the Plotly figures.
"""

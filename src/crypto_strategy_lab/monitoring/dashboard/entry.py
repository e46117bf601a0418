"""The script ``streamlit run`` executes.

``csl dashboard`` and ``scripts/monitoring_dashboard.py`` both point Streamlit at a file that
calls :func:`~.app.main`.
"""

from crypto_strategy_lab.monitoring.dashboard.app import main

main()

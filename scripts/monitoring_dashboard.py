"""The monitoring dashboard, as in the brief.

Run it with ``python -m streamlit run scripts/monitoring_dashboard.py``.
Options go after ``--``: ``python -m streamlit run scripts/monitoring_dashboard.py -- --journal
sqlite:////path/journal.sqlite --refresh 10``. ``csl dashboard`` does the same and serves on
127.0.0.1:8501.
"""

from crypto_strategy_lab.monitoring.dashboard.app import main

main()

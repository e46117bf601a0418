"""Research: parameter studies, the lab that runs every strategy through the gate, its report.

Public API::

    from crypto_strategy_lab.research import StudySpec, run_study, run_lab, latest_verdict
"""

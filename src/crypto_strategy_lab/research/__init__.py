"""Research: parameter studies, the lab that runs every strategy through the gate, its report.

The package exports no names (``docs/api/index.md``); its entry points are imported from
their modules::

    from crypto_strategy_lab.research.study import StudySpec, run_study
    from crypto_strategy_lab.research.lab import run_lab
    from crypto_strategy_lab.research.verdicts import latest_verdict
"""

"""Crypto Strategy Lab: from a statistical trading idea to validated, risk-managed live trading.

The package mirrors the architecture in ``DESIGN.md``: ``data`` → ``stats`` → ``strategies``
→ ``backtest`` → ``validation`` on the research side; ``portfolio`` → ``risk`` →
``exchanges`` → ``engine`` → ``journal`` → ``monitoring`` on the trading side.
"""

__version__ = "0.1.0"

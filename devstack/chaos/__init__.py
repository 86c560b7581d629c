"""`python -m devstack chaos --duration S`: the whole stack under load and faults, then proof
that no money was made or lost and no answered order was dropped.

  stack.py     the stack as `make up` runs it (supervisord), in a fresh temporary data dir
  schedule.py  which faults happen when: seeded, pure
  faults.py    doing one fault to the running stack
  load.py      the bot swarm and the background reconciles, as child processes
  checks.py    waiting for settlement, then the checks
  run.py       the run from start to report
"""

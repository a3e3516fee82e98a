"""``python -m nianbao``: the same command as the ``nianbao`` console script."""

from nianbao.flows.cli import main

raise SystemExit(main())

import sys

from sims import signals

signals.install_early()  # before the slow imports: a stop signal during them ends with one line

from sims.cli import main  # noqa: E402

sys.exit(main())

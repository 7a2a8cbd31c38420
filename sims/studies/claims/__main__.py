"""Print the verdict table of a report.json (default figures/report.json): the README's table."""

import json
import sys
from pathlib import Path

from sims.studies.claims import verdict_table

path = Path(sys.argv[1] if len(sys.argv) > 1 else "figures/report.json")
print(verdict_table(json.loads(path.read_text())))

import sys

from prodsql._cli import main

sys.exit(main())

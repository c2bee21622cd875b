import sys

from mini_bptt.cli import main

sys.exit(main())

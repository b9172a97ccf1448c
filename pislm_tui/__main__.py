import sys

from pislm_tui.cli import main

sys.exit(main())

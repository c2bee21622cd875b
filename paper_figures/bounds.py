"""Paper figure: the code is mini_bptt/figures/bounds.py.

Usage: python paper_figures/bounds.py [OUT] [--quick]
"""

from mini_bptt.figures import bounds
from mini_bptt.figures._io import script_main

if __name__ == "__main__":
    script_main(bounds)

"""Paper figure: the code is mini_bptt/figures/strategies.py.

Usage: python paper_figures/strategies.py [OUT] [--quick]
"""

from mini_bptt.figures import strategies
from mini_bptt.figures._io import script_main

if __name__ == "__main__":
    script_main(strategies)

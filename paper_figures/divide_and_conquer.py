"""Paper figure: the code is mini_bptt/figures/divide_and_conquer.py.

Usage: python paper_figures/divide_and_conquer.py [OUT] [--quick]
"""

from mini_bptt.figures import divide_and_conquer
from mini_bptt.figures._io import script_main

if __name__ == "__main__":
    script_main(divide_and_conquer)

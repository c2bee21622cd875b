"""Paper figure: the code is mini_bptt/figures/policies.py.

Usage: python paper_figures/policies.py [OUT] [--quick]
"""

from mini_bptt.figures import policies
from mini_bptt.figures._io import script_main

if __name__ == "__main__":
    script_main(policies)

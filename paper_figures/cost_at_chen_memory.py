"""Paper figure: the code is mini_bptt/figures/cost_at_chen_memory.py.

Usage: python paper_figures/cost_at_chen_memory.py [OUT] [--quick]
"""

from mini_bptt.figures import cost_at_chen_memory
from mini_bptt.figures._io import script_main

if __name__ == "__main__":
    script_main(cost_at_chen_memory)

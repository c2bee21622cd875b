"""Common: what every layer needs before it does anything, below all of them.

``arguments`` checks a caller's values and says what is accepted; ``resources`` holds the
limits in force (bytes, seconds, actions) that every layer sizes its work against.
Imports nothing else from mini_bptt."""

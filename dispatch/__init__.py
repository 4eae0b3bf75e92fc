"""The Outfield domain: plain, typed values and pure rules. No I/O, no wall clock."""
